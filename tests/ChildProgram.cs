using System.Diagnostics;

namespace IlgpuGan.Tests;

/// <summary>`ilgpugan` run as a child process, as a user's shell runs it: its real exit code, whatever kills it.</summary>
public static class ChildProgram
{
    /// <summary>Runs the program with <paramref name="arguments"/>; fails the test (and kills it) when it outlasts <paramref name="limit"/>.</summary>
    public static (int Code, string Output, string Error) Run(TimeSpan limit, params string[] arguments)
    {
        using var process = new Process { StartInfo = StartInfo(arguments) };
        Start(process);
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"ilgpugan {string.Join(' ', arguments)} did not exit within {limit.TotalSeconds} s");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>How to start the built program (its dll beside the tests) with <paramref name="arguments"/>, output redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        // dotnet test names the host that runs it.
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["exec", Path.Combine(AppContext.BaseDirectory, "ilgpugan.dll"), .. arguments])
            info.ArgumentList.Add(argument);
        return info;
    }

    /// <summary>Starts <paramref name="process"/>, or skips the test where no dotnet host can run the program.</summary>
    public static void Start(Process process)
    {
        try { process.Start(); }
        catch (System.ComponentModel.Win32Exception e)
        {
            // A self-contained test build on a machine without .NET has no host to run the program with.
            Assert.Ignore($"no dotnet host to run ilgpugan as a child process: {e.Message}");
        }
    }

    /// <summary>Asserts the ending of a refused input: exit 1 and one line on standard error naming <paramref name="path"/>, no stack trace.</summary>
    public static void AssertOneLineFailure((int Code, string Output, string Error) result, string path)
    {
        Assert.That(result.Error, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(result.Code, Is.EqualTo(1), result.Error);
        Assert.That(result.Error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), result.Error);
        Assert.That(result.Error, Does.Contain(path));
    }
}

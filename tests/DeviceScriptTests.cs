using System.Diagnostics;
using System.Text.Json;

namespace IlgpuGan.Tests;

/// <summary>
/// tools/gpu/device.sh, the script of the one device call a lent GPU gets, run in its quick mode on the CPU
/// accelerator against this build's `ilgpugan` and test executable: a renamed option, a missing file or a stage
/// that no longer runs fails here, not in that call.
/// </summary>
[NonParallelizable]
public sealed class DeviceScriptTests
{
    /// <summary>The files a device call brings back, 8 at most: one per stage (two for `profile`) and the log.</summary>
    static readonly string[] Outputs =
        ["log.txt", "first_steps.json", "tests.txt", "profile_seed.json", "profile.json", "bench.json", "torch.json", "train.json"];

    [Test]
    public void QuickModeRunsEveryStageOnTheCpuAccelerator()
    {
        var script = Path.Combine(Checkout(), "tools", "gpu", "device.sh");
        var python = PythonInterpreter.With("torch", "pytorch", "python3-torch");
        using var folder = new TempFolder();
        var results = folder.File("out");
        var start = new ProcessStartInfo("bash", [script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["OUT"] = results,
                ["ACCELERATOR"] = "cpu",
                ["QUICK"] = "1",
                ["BIN"] = AppContext.BaseDirectory,
                ["DATA"] = ProgramTests.WriteTinyMnist(folder.File("data")),
                ["PYTHON"] = python,
            },
        };
        // The nested test run checks this machine's backends by its own rules, not by the ones CI sets for this run.
        start.Environment.Remove(RequiredChecks.Variable);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5))) process.Kill(entireProcessTree: true);
        process.WaitForExit();
        var log = string.Join('\n', (output.Result + errors.Result).Split('\n').TakeLast(60));

        Assert.That(process.ExitCode, Is.Zero, $"device.sh failed:\n{log}");
        Assert.That(Directory.GetFiles(results).Select(Path.GetFileName), Is.EquivalentTo(Outputs), log);
        using var firstSteps = JsonDocument.Parse(File.ReadAllText(Path.Combine(results, "first_steps.json")));
        Assert.That(firstSteps.RootElement.GetProperty("ok").GetBoolean(), log);
    }

    /// <summary>The checkout these tests were built in; the device script is there, not in the build output.</summary>
    static string Checkout()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "IlgpuGan.sln"))) return directory.FullName;
        Assert.Ignore($"no checkout (IlgpuGan.sln) above {AppContext.BaseDirectory} holding tools/gpu/device.sh");
        return null!;
    }
}

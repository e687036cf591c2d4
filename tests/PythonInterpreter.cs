using System.Diagnostics;

namespace IlgpuGan.Tests;

/// <summary>The Python that the interop tests and the device script's PyTorch stage hand their files to.</summary>
public static class PythonInterpreter
{
    /// <summary>
    /// A Python interpreter that imports <paramref name="module"/>: $ILGPUGAN_PYTHON, python3 on the PATH, or Debian's
    /// /usr/bin/python3 (where apt's python3-torch and python3-onnx install, which a pyenv python3 does not see).
    /// </summary>
    public static string With(string module, string check, string package)
    {
        var candidates = new[] { Environment.GetEnvironmentVariable("ILGPUGAN_PYTHON"), "python3", "/usr/bin/python3" };
        foreach (var candidate in candidates.OfType<string>())
            if (TryRun(candidate, ["-c", $"import {module}"], out _, out _)) return candidate;
        RequiredChecks.Unavailable(check, $"no Python that imports {module} (apt-get install {package})");
        return null!;
    }

    public static bool TryRun(string file, IEnumerable<string> arguments, out string output, out string error)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["OMP_NUM_THREADS"] = "1";
        Process process;
        try { process = Process.Start(start)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            (output, error) = ("", e.Message);
            return false;
        }
        using (process)
        {
            var errorTask = process.StandardError.ReadToEndAsync();
            output = process.StandardOutput.ReadToEnd();
            error = errorTask.Result;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
    }
}

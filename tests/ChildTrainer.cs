using System.Diagnostics;
using System.Text;

namespace IlgpuGan.Tests;

/// <summary>`ilgpugan` as a child process (the built program beside the tests), its output collected.</summary>
public sealed class ChildTrainer : IDisposable
{
    static readonly TimeSpan ChildLimit = TimeSpan.FromMinutes(2);

    /// <summary>kill -SIGNAL to a process.</summary>
    public static void Signal(int processId, string signal)
    {
        using var kill = Process.Start("kill", $"-{signal} {processId}");
        kill.WaitForExit();
    }

    readonly Process process;
    readonly StringBuilder output = new();
    readonly object gate = new();

    ChildTrainer(Process process) => this.process = process;

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    public static ChildTrainer Start(string[] arguments)
    {
        var child = new ChildTrainer(new Process { StartInfo = ChildProgram.StartInfo(arguments) });
        child.process.OutputDataReceived += (_, e) => child.Add(e.Data);
        child.process.ErrorDataReceived += (_, e) => child.Add(e.Data);
        ChildProgram.Start(child.process);
        child.process.BeginOutputReadLine();
        child.process.BeginErrorReadLine();
        return child;
    }

    void Add(string? line)
    {
        if (line is null) return;
        lock (gate) output.AppendLine(line);
    }

    public string Output
    {
        get { lock (gate) return output.ToString(); }
    }

    public void WaitForLine(string text)
    {
        var clock = Stopwatch.StartNew();
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            if (process.HasExited || clock.Elapsed > ChildLimit)
                Assert.Fail($"the trainer printed no '{text}' (exited: {process.HasExited}):\n{Output}");
            Thread.Sleep(20);
        }
    }

    public (int Code, string Output) WaitForExit()
    {
        if (!process.WaitForExit(ChildLimit)) Assert.Fail($"the trainer did not exit:\n{Output}");
        process.WaitForExit();
        return (process.ExitCode, Output);
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill();
        process.Dispose();
    }
}

using System.Globalization;
using IlgpuGan.Kernels;

namespace IlgpuGan.Trainer;

/// <summary>`info`: the accelerators found, with name and memory, and why any cannot be used.</summary>
public static class InfoCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("info", "lists the accelerators found and why any cannot be used", () => Run(output));

    public static void Run(TextWriter output)
    {
        foreach (var report in ComputeDevice.Survey())
        {
            var memory = report.MemoryBytes > 0 ? string.Create(CultureInfo.InvariantCulture, $", {report.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB") : "";
            var verdict = report.Usable ? (report.Kind == AcceleratorKind.OpenCL && !report.IsGpu ? "usable (an OpenCL CPU device: auto prefers the CPU accelerator)" : "usable") : $"not usable: {report.RejectedBecause}";
            output.WriteLine($"{report.Kind,-6} {report.Name}{memory}: {verdict}");
        }
    }
}

using System.Globalization;
using System.Runtime.InteropServices;
using IlgpuGan.Kernels;

namespace IlgpuGan.Trainer;

/// <summary>
/// Where and when a figure was measured, so that every figure in docs/cpu-speed.md and docs/gpu.md carries it. HostLoad is the
/// 1, 5 and 15 minute load averages when the run began (Linux): on a shared machine, the context of every timing.
/// </summary>
public sealed record MeasuredOn(string Accelerator, string Device, string HostCpu, int HostCpus, string HostLoad, string Os, string Utc)
{
    public static MeasuredOn Now(ComputeDevice device) => new(device.Kind.ToString(), device.Name,
        LinuxFileLine("/proc/cpuinfo", "model name")?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString(),
        Environment.ProcessorCount, string.Join(' ', (LinuxFileLine("/proc/loadavg", "") ?? "unknown").Split(' ').Take(3)),
        RuntimeInformation.OSDescription, DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture));

    static string? LinuxFileLine(string path, string prefix) =>
        File.Exists(path) ? File.ReadLines(path).FirstOrDefault(line => line.StartsWith(prefix, StringComparison.Ordinal)) : null;
}

using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// Times every launch with ILGPU profiling markers placed on the stream before and after it, so the
/// figures are the accelerator's own, not the host's. Only exists on a device created with profiling.
/// </summary>
public sealed class KernelProfiler(Accelerator accelerator)
{
    /// <summary>One launch: its kernel, the work it must do, and the markers around it.</summary>
    public sealed record Launch(string Kernel, double Flops, double Bytes, ProfilingMarker Start, ProfilingMarker End);

    readonly List<Launch> launches = [];

    /// <summary>The launches recorded since the last <see cref="Clear"/>.</summary>
    public IReadOnlyList<Launch> Launches => launches;

    /// <summary>Starts timing a launch of <paramref name="kernel"/> doing <paramref name="flops"/> and moving <paramref name="bytes"/>; disposing the scope ends it.</summary>
    public Scope Begin(string kernel, double flops, double bytes) =>
        new(this, kernel, flops, bytes, accelerator.AddProfilingMarker());

    /// <summary>Forgets recorded launches (after a warm-up, say) and frees their markers.</summary>
    public void Clear()
    {
        foreach (var launch in launches)
        {
            launch.Start.Dispose();
            launch.End.Dispose();
        }
        launches.Clear();
    }

    void End(string kernel, double flops, double bytes, ProfilingMarker start) =>
        launches.Add(new Launch(kernel, flops, bytes, start, accelerator.AddProfilingMarker()));

    /// <summary>Closes a launch's record when disposed; the default value records nothing.</summary>
    public readonly struct Scope(KernelProfiler? profiler, string kernel, double flops, double bytes, ProfilingMarker start)
        : IDisposable
    {
        /// <summary>Ends the launch's timing.</summary>
        public void Dispose() => profiler?.End(kernel, flops, bytes, start);
    }
}

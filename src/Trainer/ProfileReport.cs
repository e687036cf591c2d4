using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>
/// One kernel's share of a training step. GFLOP/s and GB/s are what its launches achieved given the FLOPs
/// and bytes each must do (see the kernels' Profile calls); null for a kernel that does none.
/// </summary>
public sealed record KernelTime(string Kernel, double LaunchesPerStep, double MicrosecondsPerStep, double MeanMicroseconds,
    double SharePercent, double? GflopPerSecond, double? GigabytesPerSecond);

/// <summary>
/// A step taken apart by kernel. StepMicroseconds runs from a marker before a step's first launch to one after its
/// last; GapMicroseconds is what the kernels leave of it: the host enqueuing launches (and the markers themselves).
/// </summary>
public sealed record ProfileReport(MeasuredOn MeasuredOn, Recipe Recipe, int BatchSize, int Width, int Steps, int Warmup,
    double StepMicroseconds, double KernelMicroseconds, double GapMicroseconds, double GapSharePercent,
    double LaunchesPerStep, IReadOnlyList<KernelTime> Kernels);

using IlgpuGan.Kernels;

namespace IlgpuGan.Trainer;

/// <summary>
/// The sweep a bare `bench` runs. The CPU accelerator's is small enough to finish in under a minute; the measured
/// reason is in docs/cpu-speed.md (`bench`).
/// </summary>
public sealed record BenchDefaults(int[] BatchSizes, int[] Widths, int Steps, int Warmup, int Repeats, int[] GemmSizes,
    double GemmSecondsPerRun)
{
    public static readonly BenchDefaults Gpu = new([128, 256, 512, 1024, 2048, 4096], [1, 2, 4], Steps: 20, Warmup: 5,
        Repeats: 5, [1024, 4096], GemmSecondsPerRun: 0.01);
    public static readonly BenchDefaults Cpu = new([128, 256], [1], Steps: 20, Warmup: 5, Repeats: 5, [1024],
        GemmSecondsPerRun: 0.05);

    public static BenchDefaults For(ComputeDevice device) => device.IsCpu ? Cpu : Gpu;
}

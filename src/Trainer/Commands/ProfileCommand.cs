using System.Globalization;
using ILGPU.Runtime;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `profile` was asked to do.</summary>
public sealed record ProfileOptions
{
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
    /// <summary>Portable runs a GPU's kernels on the CPU accelerator: its launches are a GPU's.</summary>
    public KernelVariant Kernels { get; init; } = KernelVariant.Auto;
    /// <summary>The reference's by default: the model PyTorch's anchors time.</summary>
    public Recipe Recipe { get; init; } = Recipe.Reference;
    public int BatchSize { get; init; } = 128;
    public int Width { get; init; } = 1;
    public int Steps { get; init; } = 20;
    public int Warmup { get; init; } = 5;
    public int Images { get; init; } = Measurement.DefaultSyntheticImages;
    public string? Json { get; init; }
}

/// <summary>`profile`: a few training steps on synthetic data, every launch timed on the accelerator by markers.</summary>
public static class ProfileCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("profile", "times every kernel of a few training steps on synthetic data; a table per kernel, or JSON",
            Read, options => Run(options, output));

    static ProfileOptions Read(CommandArgs args)
    {
        var defaults = new ProfileOptions();
        return new ProfileOptions
        {
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
            Kernels = args.Choice("kernels", defaults.Kernels, "which variant of the kernels that have two (portable: a GPU's)"),
            Recipe = args.Choice("recipe", defaults.Recipe, "training recipe whose step is profiled"),
            BatchSize = args.Int("batch-size", defaults.BatchSize, "images per batch", min: 2, max: GanConfig.MaxBatchSize),
            Width = args.Int("width", defaults.Width, "every hidden layer this many times wider than the seed's", min: 1, max: 16),
            Steps = args.Int("steps", defaults.Steps, "profiled training steps", min: 1, max: 100_000),
            Warmup = args.Int("warmup", defaults.Warmup, "steps before them, not profiled (compilation, caches)", min: 0, max: 100_000),
            Images = args.Int("images", defaults.Images, "synthetic training images (random pixels; MNIST has 60000)", min: 2, max: Measurement.MaxSyntheticImages),
            Json = args.Path("json", null, "also write the figures to this JSON file"),
        };
    }

    public static ProfileReport Run(ProfileOptions options, TextWriter output)
    {
        if (options.BatchSize > options.Images)
            throw new UsageException($"--batch-size: {options.BatchSize} is more than the {options.Images} --images");
        using var device = ComputeDevice.Create(options.Accelerator, profiling: true);
        var profiler = device.Profiler!;
        var kernels = new KernelSet(device, options.Kernels);
        var config = (Recipes.Config(options.Recipe) with { BatchSize = options.BatchSize }).Widened(options.Width);
        using var gan = Measurement.InitializedGan(kernels, config);
        using var data = Measurement.SyntheticImages(kernels, options.Images, config.ImagePixels, seed: 1);

        for (int step = 0; step < options.Warmup; step++) gan.TrainStep(data, step);
        device.Synchronize();
        profiler.Clear();

        var steps = new List<(ProfilingMarker Start, ProfilingMarker End)>();
        for (int step = options.Warmup; step < options.Warmup + options.Steps; step++)
        {
            var start = device.Accelerator.AddProfilingMarker();
            gan.TrainStep(data, step);
            steps.Add((start, device.Accelerator.AddProfilingMarker()));
        }
        device.Synchronize();

        var report = Summarise(MeasuredOn.Now(device), options, profiler.Launches,
            steps.Sum(s => Microseconds(s.Start, s.End)));
        foreach (var (start, end) in steps)
        {
            start.Dispose();
            end.Dispose();
        }
        profiler.Clear();

        Print(report, kernels.BatchNorm.Variant, output);
        if (options.Json is { } json) JsonFile.Write(json, report);
        return report;
    }

    static double Microseconds(ProfilingMarker start, ProfilingMarker end) => end.MeasureFrom(start).TotalMicroseconds;

    static ProfileReport Summarise(MeasuredOn measuredOn, ProfileOptions options, IReadOnlyList<KernelProfiler.Launch> launches,
        double totalStepMicroseconds)
    {
        int steps = options.Steps;
        double stepMicroseconds = totalStepMicroseconds / steps;
        var kernels = launches
            .GroupBy(l => l.Kernel)
            .Select(group =>
            {
                double microseconds = group.Sum(l => Microseconds(l.Start, l.End));
                double flops = group.Sum(l => l.Flops), bytes = group.Sum(l => l.Bytes);
                double seconds = microseconds * 1e-6;
                return new KernelTime(group.Key, (double)group.Count() / steps, microseconds / steps,
                    microseconds / group.Count(), 100 * microseconds / totalStepMicroseconds,
                    flops > 0 ? flops / seconds * 1e-9 : null, bytes > 0 ? bytes / seconds * 1e-9 : null);
            })
            .OrderByDescending(k => k.MicrosecondsPerStep)
            .ToList();
        double kernelMicroseconds = kernels.Sum(k => k.MicrosecondsPerStep);
        double gap = stepMicroseconds - kernelMicroseconds;
        return new ProfileReport(measuredOn, options.Recipe, options.BatchSize, options.Width, steps, options.Warmup, stepMicroseconds,
            kernelMicroseconds, gap, 100 * gap / stepMicroseconds, (double)launches.Count / steps, kernels);
    }

    static void Print(ProfileReport report, KernelVariant variant, TextWriter output)
    {
        var on = report.MeasuredOn;
        output.WriteLine($"profile: {on.Accelerator} {on.Device} ({on.HostCpus} × {on.HostCpu}, load {on.HostLoad}), {CommandArgs.ChoiceName(variant)} kernels, recipe {CommandArgs.ChoiceName(report.Recipe)}, batch {report.BatchSize}, width x{report.Width}, " +
                         $"{report.Steps} steps after {report.Warmup} warm-up steps, {on.Utc}");
        var rows = report.Kernels.Select(k => (IReadOnlyList<string>)
            [k.Kernel, Measurement.Cell(k.LaunchesPerStep, 2), Measurement.Cell(k.MicrosecondsPerStep, 1),
             Measurement.Cell(k.MeanMicroseconds, 1), Measurement.Cell(k.SharePercent, 1),
             Measurement.Cell(k.GflopPerSecond, 2), Measurement.Cell(k.GigabytesPerSecond, 2)]).ToList();
        rows.Add(["(between kernels: host, launches)", "", Measurement.Cell(report.GapMicroseconds, 1), "",
            Measurement.Cell(report.GapSharePercent, 1), "", ""]);
        rows.Add(["step", Measurement.Cell(report.LaunchesPerStep, 2), Measurement.Cell(report.StepMicroseconds, 1), "", "100.0", "", ""]);
        Measurement.WriteTable(output, ["kernel", "launches/step", "µs/step", "µs/launch", "share %", "GFLOP/s", "GB/s"], rows);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"step {report.StepMicroseconds / 1000:F3} ms by the markers; the kernels {report.KernelMicroseconds / 1000:F3} ms; {report.LaunchesPerStep:F2} launches per step"));
    }
}

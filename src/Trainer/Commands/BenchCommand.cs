using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `bench` was asked to do; a null list or count takes the accelerator's default (<see cref="BenchDefaults"/>).</summary>
public sealed record BenchOptions
{
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
    /// <summary>The reference's by default: the model PyTorch's anchors time.</summary>
    public Recipe Recipe { get; init; } = Recipe.Reference;
    public IReadOnlyList<int>? BatchSizes { get; init; }
    public IReadOnlyList<int>? Widths { get; init; }
    public int? Steps { get; init; }
    public int? Warmup { get; init; }
    public int? Repeats { get; init; }
    public IReadOnlyList<int>? GemmSizes { get; init; }
    public int GemmBatch { get; init; } = 128;
    public int Images { get; init; } = Measurement.DefaultSyntheticImages;
    public string? Json { get; init; }
}

/// <summary>`bench`: median training speed over a sweep of batch sizes and widths, and a GEMM sweep beside cuBLAS.</summary>
public static class BenchCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("bench", "median training speed over a sweep of batch sizes and widths, and a GEMM sweep beside cuBLAS",
            Read, options => Run(options, output));

    static BenchOptions Read(CommandArgs args)
    {
        static string PerAccelerator<T>(Func<BenchDefaults, T> value) =>
            $" (default: GPU {Joined(value(BenchDefaults.Gpu))}, CPU accelerator {Joined(value(BenchDefaults.Cpu))})";
        static string Joined<T>(T value) => value is int[] list ? string.Join(',', list) : $"{value}";
        var defaults = new BenchOptions();
        return new BenchOptions
        {
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
            Recipe = args.Choice("recipe", defaults.Recipe, "training recipe whose step is timed"),
            BatchSizes = args.IntList("batch-sizes", null, "batch sizes to time" + PerAccelerator(d => d.BatchSizes), min: 2, max: GanConfig.MaxBatchSize),
            Widths = args.IntList("widths", null, "width factors of the hidden layers" + PerAccelerator(d => d.Widths), min: 1, max: 16),
            Steps = args.OptionalInt("steps", "steps per timed run" + PerAccelerator(d => d.Steps), min: 1, max: 100_000),
            Warmup = args.OptionalInt("warmup", "untimed steps first" + PerAccelerator(d => d.Warmup), min: 0, max: 100_000),
            Repeats = args.OptionalInt("repeats", "timed runs; the median is reported" + PerAccelerator(d => d.Repeats), min: 1, max: 1000),
            GemmSizes = args.IntList("gemm-sizes", null, "square GEMMs n×n×n after the model's" + PerAccelerator(d => d.GemmSizes), min: 1, max: 16384),
            GemmBatch = args.Int("gemm-batch", defaults.GemmBatch, "batch size whose training step gives the model's GEMM shapes", min: 2, max: GanConfig.MaxBatchSize),
            Images = args.Int("images", defaults.Images, "synthetic training images (random pixels; MNIST has 60000)", min: 2, max: Measurement.MaxSyntheticImages),
            Json = args.Path("json", null, "also write the figures to this JSON file"),
        };
    }

    public static BenchReport Run(BenchOptions options, TextWriter output)
    {
        using var device = ComputeDevice.Create(options.Accelerator);
        var defaults = BenchDefaults.For(device);
        var batchSizes = options.BatchSizes ?? defaults.BatchSizes;
        var widths = options.Widths ?? defaults.Widths;
        int steps = options.Steps ?? defaults.Steps, warmup = options.Warmup ?? defaults.Warmup, repeats = options.Repeats ?? defaults.Repeats;
        if (batchSizes.Max() > options.Images)
            throw new UsageException($"--batch-sizes: {batchSizes.Max()} is more than the {options.Images} --images");
        var measuredOn = MeasuredOn.Now(device);
        output.WriteLine($"bench: {measuredOn.Accelerator} {measuredOn.Device} ({measuredOn.HostCpus} × {measuredOn.HostCpu}, load {measuredOn.HostLoad}), {measuredOn.Utc}; recipe {CommandArgs.ChoiceName(options.Recipe)}; median of {repeats} runs of {steps} steps after {warmup} warm-up steps");

        var kernels = new KernelSet(device);
        var modelGemms = ModelGemms(kernels, options.GemmBatch);
        var training = new List<TrainingSpeed>();
        using (var data = Measurement.SyntheticImages(kernels, options.Images, new GanConfig().ImagePixels, seed: 1))
            foreach (int width in widths)
                foreach (int batch in batchSizes)
                    training.Add(TimeTraining(kernels, data, options.Recipe, batch, width, steps, warmup, repeats));
        PrintTraining(training, options.Recipe, output);

        var squares = (options.GemmSizes ?? defaults.GemmSizes).Select(s => new GemmProblem(false, false, s, s, s));
        var (cuBlas, cuBlasStatus) = CuBlasGemm.TryOpen(device);
        List<GemmSpeed> gemm;
        using (cuBlas)
            gemm = modelGemms.Select(problem => ("model", problem)).Concat(squares.Select(problem => ("square", problem)))
                .Select(g => TimeGemm(kernels, cuBlas, g.Item1, g.Item2, repeats, defaults.GemmSecondsPerRun))
                .ToList();
        PrintGemm(gemm, options.GemmBatch, cuBlasStatus, output);

        var report = new BenchReport(measuredOn, options.Recipe, steps, warmup, repeats, training, options.GemmBatch, gemm, cuBlasStatus);
        if (options.Json is { } json) JsonFile.Write(json, report);
        return report;
    }

    static TrainingSpeed TimeTraining(KernelSet kernels, DeviceDataset data, Recipe recipe, int batch, int width, int steps, int warmup, int repeats)
    {
        using var gan = Measurement.InitializedGan(kernels, (Recipes.Config(recipe) with { BatchSize = batch }).Widened(width));
        long step = 0;
        for (int i = 0; i < warmup; i++) gan.TrainStep(data, step++);
        var msPerIteration = new List<double>();
        for (int run = 0; run < repeats; run++)
        {
            double seconds = Measurement.TimeSeconds(kernels.Device, () =>
            {
                for (int i = 0; i < steps; i++) gan.TrainStep(data, step++);
            });
            msPerIteration.Add(1000 * seconds / steps);
        }
        double median = Measurement.Median(msPerIteration);
        int stepsPerEpoch = data.StepsPerEpoch(batch);
        double epochSeconds = median / 1000 * stepsPerEpoch;
        return new TrainingSpeed(batch, width, median, msPerIteration.Min(), msPerIteration.Max(), batch / (median / 1000),
            stepsPerEpoch, epochSeconds, epochSeconds * Measurement.ReferenceEpochs);
    }

    static void PrintTraining(IReadOnlyList<TrainingSpeed> training, Recipe recipe, TextWriter output)
    {
        Measurement.WriteTable(output,
            ["batch", "width", "ms/iter", "min", "max", "samples/s", "steps/epoch", "s/epoch", "300 epochs s"],
            training.Select(t => (IReadOnlyList<string>)
                [t.BatchSize.ToString(CultureInfo.InvariantCulture), "x" + t.Width.ToString(CultureInfo.InvariantCulture),
                 Measurement.Cell(t.MsPerIteration, 3), Measurement.Cell(t.MinMsPerIteration, 3), Measurement.Cell(t.MaxMsPerIteration, 3),
                 Measurement.Cell(t.SamplesPerSecond, 0), t.StepsPerEpoch.ToString(CultureInfo.InvariantCulture),
                 Measurement.Cell(t.EpochSeconds, 2), Measurement.Cell(t.ReferenceRunSeconds, 1)]).ToList());
        if (training.FirstOrDefault(t => t is { BatchSize: 128, Width: 1 }) is { } reference)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"the {CommandArgs.ChoiceName(recipe)} recipe (batch 128, width x1): {reference.MsPerIteration:F3} ms per iteration, {reference.SamplesPerSecond:F0} samples/s, an epoch {reference.EpochSeconds:F2} s, 300 epochs {reference.ReferenceRunSeconds:F1} s (steps only)"));
    }

    /// <summary>Every distinct multiply of a training step of the reference's model at batch <paramref name="batch"/>, the largest first.</summary>
    static IReadOnlyList<GemmProblem> ModelGemms(KernelSet kernels, int batch)
    {
        using var gan = new Gan(kernels, new GanConfig { BatchSize = batch });
        return gan.StepGemms().Distinct().OrderByDescending(g => g.Flops).ToList();
    }

    static GemmSpeed TimeGemm(KernelSet kernels, CuBlasGemm? cuBlas, string source, GemmProblem shape, int repeats, double secondsPerRun)
    {
        var accelerator = kernels.Device.Accelerator;
        var random = new Random(7);
        float[] Values(long count) => Enumerable.Range(0, checked((int)count)).Select(_ => 2 * random.NextSingle() - 1).ToArray();
        using var a = accelerator.Allocate1D(Values((long)shape.M * shape.K));
        using var b = accelerator.Allocate1D(Values((long)shape.K * shape.N));
        using var c = accelerator.Allocate1D<float>((long)shape.M * shape.N);

        // A timed run repeats the multiply for about secondsPerRun, so that a small one is not just the clock's resolution.
        double Gflops(Action multiply)
        {
            multiply();
            int calls = (int)Math.Clamp(Math.Ceiling(secondsPerRun / Measurement.TimeSeconds(kernels.Device, multiply)), 1, 10_000);
            var seconds = Enumerable.Range(0, repeats)
                .Select(_ => Measurement.TimeSeconds(kernels.Device, () =>
                {
                    for (int i = 0; i < calls; i++) multiply();
                }) / calls)
                .ToList();
            return shape.Flops / Measurement.Median(seconds) * 1e-9;
        }

        double ours = Gflops(() => kernels.Gemm.Multiply(a.View, shape.TransposeA, b.View, shape.TransposeB, c.View, shape.M, shape.N, shape.K));
        double? theirs = cuBlas is null ? null : Gflops(() => cuBlas.Multiply(a.View, shape.TransposeA, b.View, shape.TransposeB, c.View, shape.M, shape.N, shape.K));
        return new GemmSpeed(source, shape.Op, shape.M, shape.N, shape.K, ours, theirs, 100 * ours / theirs);
    }

    static void PrintGemm(IReadOnlyList<GemmSpeed> gemm, int gemmBatch, string cuBlasStatus, TextWriter output)
    {
        output.WriteLine($"GEMM: every distinct multiply of a training step at batch {gemmBatch}, then the squares; GFLOP/s, median of the runs");
        Measurement.WriteTable(output, ["gemm", "op", "m", "n", "k", "ours GFLOP/s", "cuBLAS GFLOP/s", "ours % of cuBLAS"],
            gemm.Select(g => (IReadOnlyList<string>)
                [g.Source, g.Op, g.M.ToString(CultureInfo.InvariantCulture), g.N.ToString(CultureInfo.InvariantCulture),
                 g.K.ToString(CultureInfo.InvariantCulture), Measurement.Cell(g.OursGflopPerSecond, 1),
                 Measurement.Cell(g.CuBlasGflopPerSecond, 1), Measurement.Cell(g.OursPercentOfCuBlas, 1)]).ToList());
        output.WriteLine($"cuBLAS: {cuBlasStatus}");
    }
}

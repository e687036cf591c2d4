using System.Globalization;
using System.Text.Json.Serialization;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `bench` was asked to do; a null list or count takes the accelerator's default (<see cref="BenchDefaults"/>).</summary>
public sealed record BenchOptions
{
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
    /// <summary>The seed's by default: the model PyTorch's anchors time.</summary>
    public Recipe Recipe { get; init; } = Recipe.Reference;
    public IReadOnlyList<int>? BatchSizes { get; init; }
    public IReadOnlyList<int>? Widths { get; init; }
    public int? Steps { get; init; }
    public int? Warmup { get; init; }
    public int? Repeats { get; init; }
    public IReadOnlyList<int>? GemmSizes { get; init; }
    public int GemmBatch { get; init; } = 128;
    public int Images { get; init; } = Measurement.MnistTrainImages;
    public string? Json { get; init; }
}

/// <summary>
/// The sweep a bare `bench` runs. The CPU accelerator is far slower than a GPU: an iteration at batch 128 takes
/// 0.13–0.2 s and one 4096³ GEMM ~10 s on the project's 2-core machine (loaded), so there it runs the seed's batch
/// and one doubling, few repeats, and squares up to 1024³, in about a minute.
/// </summary>
public sealed record BenchDefaults(int[] BatchSizes, int[] Widths, int Steps, int Warmup, int Repeats, int[] GemmSizes,
    double GemmSecondsPerRun)
{
    public static readonly BenchDefaults Gpu = new([128, 256, 512, 1024, 2048, 4096], [1, 2, 4], Steps: 20, Warmup: 5,
        Repeats: 5, [1024, 4096], GemmSecondsPerRun: 0.01);
    public static readonly BenchDefaults Cpu = new([128, 256], [1], Steps: 5, Warmup: 2, Repeats: 3, [1024],
        GemmSecondsPerRun: 0.05);

    public static BenchDefaults For(ComputeDevice device) => device.IsCpu ? Cpu : Gpu;
}

/// <summary>
/// One configuration's training speed: the median of the repeats' ms per iteration, and what it projects for
/// one epoch of MNIST at this batch size and for the reference's 300 epochs (start-up and sampling not included).
/// The JSON keeps the name "SeedRunSeconds", which tools/perf_tables.py and docs/perf/bench.json use.
/// </summary>
public sealed record TrainingSpeed(int BatchSize, int Width, double MsPerIteration, double MinMsPerIteration,
    double MaxMsPerIteration, double SamplesPerSecond, int StepsPerEpoch, double EpochSeconds,
    [property: JsonPropertyName("SeedRunSeconds")] double ReferenceRunSeconds);

/// <summary>
/// One GEMM C[m,n] = op(A)·op(B) (Op: nn, nt, tn, tt as in <see cref="Gemm.Multiply"/>), our kernel's GFLOP/s
/// and, on CUDA when it loads, cuBLAS SGEMM's on the same row-major problem.
/// </summary>
public sealed record GemmSpeed(string Source, string Op, int M, int N, int K, double OursGflopPerSecond,
    double? CuBlasGflopPerSecond, double? OursPercentOfCuBlas);

public sealed record BenchReport(MeasuredOn MeasuredOn, Recipe Recipe, int Steps, int Warmup, int Repeats, IReadOnlyList<TrainingSpeed> Training,
    int GemmBatch, IReadOnlyList<GemmSpeed> Gemm, string CuBlas);

/// <summary>`bench`: median training speed over a sweep of batch sizes and widths, and a GEMM sweep beside cuBLAS.</summary>
public static class Benchmark
{
    public static Command Command(TextWriter output) =>
        new("bench", "median training speed over a sweep of batch sizes and widths, and a GEMM sweep beside cuBLAS", args =>
        {
            static string PerAccelerator<T>(Func<BenchDefaults, T> value) =>
                $" (default: GPU {Joined(value(BenchDefaults.Gpu))}, CPU accelerator {Joined(value(BenchDefaults.Cpu))})";
            static string Joined<T>(T value) => value is int[] list ? string.Join(',', list) : $"{value}";
            var defaults = new BenchOptions();
            var options = new BenchOptions
            {
                Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
                Recipe = args.Choice("recipe", defaults.Recipe, "training recipe whose step is timed"),
                BatchSizes = args.IntList("batch-sizes", null, "batch sizes to time" + PerAccelerator(d => d.BatchSizes), min: 2, max: 65536),
                Widths = args.IntList("widths", null, "width factors of the hidden layers" + PerAccelerator(d => d.Widths), min: 1, max: 16),
                Steps = args.OptionalInt("steps", "steps per timed run" + PerAccelerator(d => d.Steps), min: 1, max: 100_000),
                Warmup = args.OptionalInt("warmup", "untimed steps first" + PerAccelerator(d => d.Warmup), min: 0, max: 100_000),
                Repeats = args.OptionalInt("repeats", "timed runs; the median is reported" + PerAccelerator(d => d.Repeats), min: 1, max: 1000),
                GemmSizes = args.IntList("gemm-sizes", null, "square GEMMs n×n×n after the model's" + PerAccelerator(d => d.GemmSizes), min: 1, max: 16384),
                GemmBatch = args.Int("gemm-batch", defaults.GemmBatch, "batch size whose training step gives the model's GEMM shapes", min: 2, max: 65536),
                Images = args.Int("images", defaults.Images, "synthetic training images (random pixels; MNIST has 60000)", min: 2),
                Json = args.Path("json", null, "also write the figures to this JSON file"),
            };
            return () =>
            {
                Run(options, output);
                return 0;
            };
        });

    public static BenchReport Run(BenchOptions options, TextWriter output)
    {
        using var device = ComputeDevice.Create(options.Accelerator);
        var defaults = BenchDefaults.For(device);
        var batchSizes = options.BatchSizes ?? defaults.BatchSizes;
        var widths = options.Widths ?? defaults.Widths;
        int steps = options.Steps ?? defaults.Steps, warmup = options.Warmup ?? defaults.Warmup, repeats = options.Repeats ?? defaults.Repeats;
        if (batchSizes.Max() > options.Images)
            throw new UsageException($"--batch-sizes: {batchSizes.Max()} is more than the {options.Images} --images");
        var modelShapes = ModelGemmShapes(device.Kind, options.GemmBatch);
        var measuredOn = MeasuredOn.Now(device);
        output.WriteLine($"bench: {measuredOn.Accelerator} {measuredOn.Device} ({measuredOn.HostCpus} × {measuredOn.HostCpu}, load {measuredOn.HostLoad}), {measuredOn.Utc}; recipe {CommandArgs.ChoiceName(options.Recipe)}; median of {repeats} runs of {steps} steps after {warmup} warm-up steps");

        var kernels = new KernelSet(device);
        var training = new List<TrainingSpeed>();
        using (var data = Measurement.SyntheticImages(kernels, options.Images, new GanConfig().ImagePixels, seed: 1))
            foreach (int width in widths)
                foreach (int batch in batchSizes)
                    training.Add(TimeTraining(kernels, data, options.Recipe, batch, width, steps, warmup, repeats));
        PrintTraining(training, output);

        var squares = (options.GemmSizes ?? defaults.GemmSizes).Select(s => new GemmShape("square", false, false, s, s, s));
        var (cuBlas, cuBlasStatus) = CuBlasGemm.TryOpen(device);
        List<GemmSpeed> gemm;
        using (cuBlas)
            gemm = modelShapes.Concat(squares)
                .Select(shape => TimeGemm(kernels, cuBlas, shape, repeats, defaults.GemmSecondsPerRun))
                .ToList();
        PrintGemm(gemm, options.GemmBatch, cuBlasStatus, output);

        var report = new BenchReport(measuredOn, options.Recipe, steps, warmup, repeats, training, options.GemmBatch, gemm, cuBlasStatus);
        if (options.Json is { } json) Measurement.WriteJson(json, report);
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
        int stepsPerEpoch = Measurement.MnistStepsPerEpoch(batch);
        double epochSeconds = median / 1000 * stepsPerEpoch;
        return new TrainingSpeed(batch, width, median, msPerIteration.Min(), msPerIteration.Max(), batch / (median / 1000),
            stepsPerEpoch, epochSeconds, epochSeconds * Measurement.ReferenceEpochs);
    }

    static void PrintTraining(IReadOnlyList<TrainingSpeed> training, TextWriter output)
    {
        Measurement.WriteTable(output,
            ["batch", "width", "ms/iter", "min", "max", "samples/s", "steps/epoch", "s/epoch", "300 epochs s"],
            training.Select(t => (IReadOnlyList<string>)
                [t.BatchSize.ToString(CultureInfo.InvariantCulture), "x" + t.Width.ToString(CultureInfo.InvariantCulture),
                 Measurement.Cell(t.MsPerIteration, 3), Measurement.Cell(t.MinMsPerIteration, 3), Measurement.Cell(t.MaxMsPerIteration, 3),
                 Measurement.Cell(t.SamplesPerSecond, 0), t.StepsPerEpoch.ToString(CultureInfo.InvariantCulture),
                 Measurement.Cell(t.EpochSeconds, 2), Measurement.Cell(t.ReferenceRunSeconds, 1)]).ToList());
        if (training.FirstOrDefault(t => t is { BatchSize: 128, Width: 1 }) is { } seed)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"the seed's recipe (batch 128, width x1): {seed.MsPerIteration:F3} ms per iteration, {seed.SamplesPerSecond:F0} samples/s, an epoch {seed.EpochSeconds:F2} s, 300 epochs {seed.ReferenceRunSeconds:F1} s (steps only)"));
    }

    /// <summary>One multiply as <see cref="Gemm.Multiply"/> takes it.</summary>
    public sealed record GemmShape(string Source, bool TransposeA, bool TransposeB, int M, int N, int K)
    {
        public string Op => (TransposeA ? "t" : "n") + (TransposeB ? "t" : "n");
        public double Flops => 2.0 * M * N * K;
    }

    /// <summary>
    /// Every distinct GEMM of one training step at batch <paramref name="batch"/>: the three multiplies a Linear
    /// layer can launch (forward nt, weight gradient tn, input gradient nn) at the row counts a step runs it on
    /// (G: B; D: B, and 2B for its joint real and fake batch), kept where a launch of one profiled step matches
    /// its transposition (the "gemm_xx" name) and FLOPs, allowing an epilogue up to 2 FLOPs per output (bias,
    /// activation). The launches record no shapes, and FLOPs alone confuse shapes whose m·n·k agree.
    /// </summary>
    public static IReadOnlyList<GemmShape> ModelGemmShapes(AcceleratorKind accelerator, int batch)
    {
        using var device = ComputeDevice.Create(accelerator, profiling: true);
        var kernels = new KernelSet(device);
        var config = new GanConfig { BatchSize = batch };
        using var gan = Measurement.InitializedGan(kernels, config);
        using var data = Measurement.SyntheticImages(kernels, batch, config.ImagePixels, seed: 1);
        gan.TrainStep(data, 0);
        device.Synchronize();
        var launches = device.Profiler!.Launches
            .Where(l => l.Kernel.StartsWith("gemm_", StringComparison.Ordinal) && l.Kernel.Length >= 7)
            .Select(l => (Op: l.Kernel.Substring(5, 2), l.Flops))
            .Distinct()
            .ToList();
        var generatorRows = gan.Generator.Layers.OfType<Linear>().Select(layer => (layer, rows: batch));
        var discriminatorRows = gan.Discriminator.Layers.OfType<Linear>()
            .SelectMany(layer => new[] { (layer, rows: batch), (layer, rows: 2 * batch) });
        var shapes = generatorRows.Concat(discriminatorRows)
            .SelectMany(use => new[]
            {
                new GemmShape("model", false, true, use.rows, use.layer.Out, use.layer.In),
                new GemmShape("model", true, false, use.layer.Out, use.layer.In, use.rows),
                new GemmShape("model", false, false, use.rows, use.layer.In, use.layer.Out),
            })
            .Distinct()
            .Where(shape => launches.Any(l => l.Op == shape.Op &&
                                             l.Flops >= shape.Flops && l.Flops <= shape.Flops * (1 + 1.0 / shape.K)))
            .OrderByDescending(shape => shape.Flops)
            .ToList();
        device.Profiler.Clear();
        if (shapes.Count == 0)
            throw new InvalidOperationException("no launch of a training step matched a Linear layer's GEMM: were the gemm_xx kernels renamed?");
        return shapes;
    }

    static GemmSpeed TimeGemm(KernelSet kernels, CuBlasGemm? cuBlas, GemmShape shape, int repeats, double secondsPerRun)
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
        return new GemmSpeed(shape.Source, shape.Op, shape.M, shape.N, shape.K, ours, theirs, 100 * ours / theirs);
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

/// <summary>
/// cuBLAS SGEMM through ILGPU.Algorithms, on the same row-major problem as <see cref="Gemm.Multiply"/>: cuBLAS is
/// column-major, and a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so the operands swap.
/// </summary>
public sealed class CuBlasGemm : IDisposable
{
    readonly CuBlas cuBlas;

    CuBlasGemm(CuBlas cuBlas) => this.cuBlas = cuBlas;

    /// <summary>cuBLAS on a CUDA device, or null and why it is not compared.</summary>
    public static (CuBlasGemm? CuBlas, string Status) TryOpen(ComputeDevice device)
    {
        if (device.Accelerator is not CudaAccelerator cuda)
            return (null, $"not compared: the {device.Kind} accelerator is not CUDA");
        try
        {
            var cuBlas = new CuBlas(cuda);
            return (new CuBlasGemm(cuBlas), $"compared: cuBLAS {cuBlas.Version}, FP32 SGEMM, default math mode");
        }
        // ILGPU.Algorithms reports a missing or unusable library by several exception types (DllNotFoundException,
        // CuBlasException, TypeInitializationException...): any of them means "not compared", with its message.
        catch (Exception e)
        {
            return (null, $"not compared: cuBLAS could not be loaded ({e.GetType().Name}: {e.Message}); " +
                          "it is looked up as libcublas.so.13, .12, .11, .10 on the loader's path (LD_LIBRARY_PATH)");
        }
    }

    public void Multiply(ArrayView<float> a, bool transposeA, ArrayView<float> b, bool transposeB, ArrayView<float> c, int m, int n, int k) =>
        cuBlas.Gemm(transposeB ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
            transposeA ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
            n, m, k, 1f, b, transposeB ? k : n, a, transposeA ? m : k, 0f, c, n);

    public void Dispose() => cuBlas.Dispose();
}

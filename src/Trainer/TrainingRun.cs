using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuGan.Trainer;

/// <summary>What `train` was asked to do. The model's fields default to the seed recipe's values.</summary>
public sealed record TrainOptions
{
    public Recipe Recipe { get; init; } = Recipe.Reference;
    public string DataDir { get; init; } = "data/mnist";
    public string OutDir { get; init; } = "runs/seed";
    public int Epochs { get; init; } = 300;
    public int BatchSize { get; init; } = 128;
    public int ZDim { get; init; } = 100;
    public double LearningRate { get; init; } = 2e-4;
    public double WeightDecay { get; init; } = 8e-9;
    public ulong Seed { get; init; }
    public GeneratorLoss Loss { get; init; } = GeneratorLoss.NonSaturating;
    public double Beta1 { get; init; } = 0.9;
    public double RealTarget { get; init; } = 1;
    public double DiscriminatorDropout { get; init; }
    public double GeneratorAverageDecay { get; init; }
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
    public int SampleEvery { get; init; } = 20;
    public int CheckpointEvery { get; init; } = 10;
    /// <summary>Steps this invocation may run, null for no limit: quick runs and tests.</summary>
    public long? MaxSteps { get; init; }
    public string? Resume { get; init; }
    /// <summary>Epochs between quality measures in metrics.csv; 0: none.</summary>
    public int EvalEvery { get; init; }
    public int EvalSamples { get; init; } = Evaluation.DefaultCount;

    /// <summary>The recipe's options: its config's values and a run folder of its name, for explicit options to override.</summary>
    public static TrainOptions ForRecipe(Recipe recipe)
    {
        var config = Recipes.Config(recipe);
        return new TrainOptions
        {
            Recipe = recipe,
            OutDir = $"runs/{CommandArgs.ChoiceName(recipe)}",
            BatchSize = config.BatchSize,
            ZDim = config.ZDim,
            LearningRate = Widen(config.Adam.LearningRate),
            WeightDecay = Widen(config.Adam.WeightDecay),
            Loss = config.Loss,
            Beta1 = Widen(config.Adam.Beta1),
            RealTarget = Widen(config.RealTarget),
            DiscriminatorDropout = Widen(config.DiscriminatorDropout),
            GeneratorAverageDecay = config.GeneratorAverageDecay,
        };
    }

    /// <summary>The double a float was written as (2e-4f → 0.0002, not 0.00019999999494757503), for the help text.</summary>
    static double Widen(float value) =>
        double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public GanConfig ToGanConfig()
    {
        var recipe = Recipes.Config(Recipe);
        return recipe with
        {
            BatchSize = BatchSize,
            ZDim = ZDim,
            Loss = Loss,
            Seed = Seed,
            Adam = recipe.Adam with
            {
                LearningRate = (float)LearningRate, WeightDecay = (float)WeightDecay, Beta1 = (float)Beta1,
            },
            RealTarget = (float)RealTarget,
            DiscriminatorDropout = (float)DiscriminatorDropout,
            GeneratorAverageDecay = GeneratorAverageDecay,
        };
    }
}

/// <summary>Training stopped because the losses went NaN or infinite.</summary>
public sealed class DivergedException(string message) : Exception(message);

/// <summary>
/// The training loop: the seed's schedule (epochs of shuffled, drop_last batches), sample grids of one fixed
/// z, metrics, checkpoints, and progress. The host enqueues steps and reads the device's running sums only
/// when it reports progress.
/// </summary>
public sealed class TrainingRun
{
    public const string CheckpointFile = "checkpoint.ckpt";
    const int GridSamples = 64;
    static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(1);
    static readonly TimeSpan PlainProgressInterval = TimeSpan.FromSeconds(30);

    readonly TrainOptions options;
    readonly TextWriter output;
    readonly bool terminal;

    public TrainingRun(TrainOptions options, TextWriter output, bool terminal)
    {
        this.options = options;
        this.output = output;
        this.terminal = terminal;
    }

    public void Run()
    {
        var resumed = options.Resume is { } resumePath ? Checkpoint.Read(resumePath) : null;
        var config = resumed?.Header.Config ?? options.ToGanConfig();
        var mnist = LoadMnist();

        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        using var gan = new Gan(kernels, config);
        using var data = new DeviceDataset(kernels, TrainingImages(mnist.Train), config.ImagePixels);
        using var evaluation = options.EvalEvery > 0 ? new TrainingEvaluation(kernels, mnist, options.EvalSamples) : null;
        int stepsPerEpoch = data.StepsPerEpoch(config.BatchSize);
        if (stepsPerEpoch < 1)
            throw new ArgumentException($"--batch-size: {config.BatchSize} is more than the {data.Count} training images");

        long step = 0;
        if (resumed is not null)
        {
            step = Checkpoint.Restore(resumed, gan, options.Resume!);
            output.WriteLine($"resumed from {options.Resume} at step {step} (epoch {step / stepsPerEpoch})");
        }
        else Initialization.LikePyTorch(gan);

        Directory.CreateDirectory(Path.Combine(options.OutDir, "samples"));
        WriteConfig(config);
        using var samples = new SampleGrid(kernels, gan, Math.Min(GridSamples, config.BatchSize));

        long lastStep = (long)options.Epochs * stepsPerEpoch;
        if (options.MaxSteps is { } maxSteps) lastStep = Math.Min(lastStep, step + maxSteps);
        var metrics = new MetricsLog(Path.Combine(options.OutDir, "metrics.csv"));
        var epochSums = new float[(int)Gan.Statistic.Count];
        long epochStartStep = step;
        var clock = Stopwatch.StartNew();
        var epochClock = Stopwatch.StartNew();
        var lastReport = TimeSpan.Zero;
        long stepsSinceTake = 0;
        bool announcedEpochTime = false;
        long firstStep = step;

        while (step < lastStep)
        {
            gan.TrainStep(data, step);
            step++;
            stepsSinceTake++;
            bool epochEnd = step % stepsPerEpoch == 0 || step == lastStep;
            var interval = terminal ? ProgressInterval : PlainProgressInterval;
            if (!epochEnd && clock.Elapsed - lastReport < interval) continue;

            TakeStatistics(gan, epochSums, step);
            stepsSinceTake = 0;
            lastReport = clock.Elapsed;
            double stepsPerSecond = (step - firstStep) / clock.Elapsed.TotalSeconds;
            if (!announcedEpochTime)
            {
                output.WriteLine($"expected time per epoch: {stepsPerEpoch / stepsPerSecond:F1} s ({stepsPerSecond:F1} steps/s)");
                announcedEpochTime = true;
            }
            long epoch = (step - 1) / stepsPerEpoch;
            if (!epochEnd)
            {
                ReportProgress(step, lastStep, stepsPerEpoch, stepsPerSecond, epochSums, step - epochStartStep);
                continue;
            }

            long stepsInEpoch = step - epochStartStep;
            var means = epochSums.Select(s => s / stepsInEpoch).ToArray();
            double seconds = epochClock.Elapsed.TotalSeconds;
            bool lastOfRun = step == lastStep;
            bool fullEpoch = step % stepsPerEpoch == 0;
            if (terminal) output.Write('\r');
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch} step {step}/{lastStep}: d_loss {means[0]:F4} g_loss {means[1]:F4} D(x) {means[2]:F3} D(G(z)) {means[3]:F3} ({seconds:F1} s)"));
            var quality = evaluation is not null && ((fullEpoch && (epoch + 1) % options.EvalEvery == 0) || lastOfRun)
                ? evaluation.Measure(gan, output)
                : null;
            metrics.Append(epoch, step, means, seconds, stepsInEpoch * config.BatchSize / seconds, quality);
            if ((fullEpoch && epoch % options.SampleEvery == 0) || lastOfRun)
                samples.Save(Path.Combine(options.OutDir, "samples", $"epoch_{epoch:000}.png"), options.OutDir);
            if ((fullEpoch && (epoch + 1) % options.CheckpointEvery == 0) || lastOfRun)
                Checkpoint.Save(Path.Combine(options.OutDir, CheckpointFile), gan, step,
                    JsonSerializer.SerializeToElement(options));
            metrics.PlotLosses(Path.Combine(options.OutDir, "loss.png"));

            Array.Clear(epochSums);
            epochStartStep = step;
            epochClock.Restart();
        }
        output.WriteLine($"done: {step} steps in {clock.Elapsed.TotalSeconds:F1} s; run folder {options.OutDir}");
    }

    MnistDataset LoadMnist()
    {
        var folder = options.DataDir;
        // Fetch only into a folder that holds nothing yet, so a mistyped path is reported, not filled.
        if (!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any())
            MnistDownload.EnsurePresent(folder, output);
        return MnistDataset.Load(folder);
    }

    static float[] TrainingImages(MnistSplit train)
    {
        var floats = new float[train.Images.Length];
        MnistDataset.PixelsToFloats(train.Images, floats);
        return floats;
    }

    void WriteConfig(GanConfig config)
    {
        var json = JsonSerializer.Serialize(new { options, model = config }, new JsonSerializerOptions { WriteIndented = true });
        AtomicFile.WriteAllText(Path.Combine(options.OutDir, "config.json"), json);
    }

    /// <summary>Adds the device's sums to the epoch's; stops the run when a loss is no longer finite.</summary>
    static void TakeStatistics(Gan gan, float[] epochSums, long step)
    {
        var sums = gan.TakeStatistics();
        for (int i = 0; i < sums.Length; i++) epochSums[i] += sums[i];
        foreach (var (slot, name) in new[] { (Gan.Statistic.DiscriminatorLoss, "discriminator"), (Gan.Statistic.GeneratorLoss, "generator") })
            if (!float.IsFinite(sums[(int)slot]))
                throw new DivergedException(
                    $"training stopped by step {step}: the {name} loss is {sums[(int)slot]}; the last checkpoint written is kept");
    }

    void ReportProgress(long step, long lastStep, int stepsPerEpoch, double stepsPerSecond, float[] sums, long stepsInEpoch)
    {
        double eta = (lastStep - step) / stepsPerSecond;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"epoch {(step - 1) / stepsPerEpoch} step {step}/{lastStep} d_loss {sums[0] / stepsInEpoch:F4} g_loss {sums[1] / stepsInEpoch:F4} {stepsPerSecond:F1} steps/s ETA {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}");
        if (terminal)
        {
            int width = 30, filled = (int)(width * (step % stepsPerEpoch) / stepsPerEpoch);
            output.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {text}   ");
        }
        else output.WriteLine(text);
    }

    /// <summary>The fixed z decoded by G into the grids of samples/ and progress.gif.</summary>
    sealed class SampleGrid : IDisposable
    {
        readonly Gan gan;
        readonly ILGPU.Runtime.MemoryBuffer1D<float, ILGPU.Stride1D.Dense> noise, pixels;
        readonly int count;

        public SampleGrid(KernelSet kernels, Gan gan, int count)
        {
            this.gan = gan;
            this.count = count;
            var accelerator = kernels.Device.Accelerator;
            noise = accelerator.Allocate1D<float>((long)count * gan.Config.ZDim);
            pixels = accelerator.Allocate1D<float>((long)count * gan.Config.ImagePixels);
            kernels.Random.Gaussian(noise.View, count * gan.Config.ZDim, gan.Config.Seed, RandomStreams.FixedSampleStream());
        }

        /// <summary>Draws in train mode as the seed does, without touching the running statistics.</summary>
        public void Save(string path, string runFolder)
        {
            gan.SamplingGenerator.Forward(noise.View, count, ForwardMode.BatchStatistics, pixels.View);
            using (var grid = Images.Grid(pixels.GetAsArray1D(), columns: 8))
                AtomicFile.Write(path, stream => grid.SaveAsPng(stream));
            var frames = Directory.GetFiles(Path.GetDirectoryName(path)!, "epoch_*.png").Order(StringComparer.Ordinal)
                .Select(f => Image.Load<L8>(f)).ToList();
            try { Images.SaveGif(Path.Combine(runFolder, "progress.gif"), frames); }
            finally { frames.ForEach(f => f.Dispose()); }
        }

        public void Dispose()
        {
            noise.Dispose();
            pixels.Dispose();
        }
    }
}

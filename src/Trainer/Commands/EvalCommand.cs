using System.Diagnostics;
using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `eval` was asked to measure: samples from a checkpoint or from an IDX file, against a data folder.</summary>
public sealed record EvalOptions
{
    public string DataDir { get; init; } = "data/mnist";
    public string? Checkpoint { get; init; }
    public string? Samples { get; init; }
    public int Count { get; init; } = Evaluation.DefaultCount;
    public SampleMode Mode { get; init; } = SampleMode.Train;
    public ulong Seed { get; init; } = 1;
    public string Classifier { get; init; } = Evaluation.DefaultClassifierPath;
    public string? Json { get; init; }
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
}

/// <summary>
/// `eval`: samples from a checkpoint or an IDX file measured against a data folder's test set, printed beside
/// the figures of real training images, their ceiling. The classifier must have learned the folder's data.
/// </summary>
public static class EvalCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("eval", "measures samples (from a checkpoint or an IDX file): Parzen log-likelihood, Fréchet distance, classifier score, class shares, beside real images of the data",
            Read, options => Run(options, output));

    static EvalOptions Read(CommandArgs args)
    {
        var defaults = new EvalOptions();
        return new EvalOptions
        {
            DataDir = args.Path("data", defaults.DataDir, "folder of the data measured against (IDX files, CIFAR-10 batches or a folder of pictures, as train reads; pictures converted to the checkpoint's images)"),
            Checkpoint = args.Path("checkpoint", null, "checkpoint, or a run folder, to draw the samples from"),
            Samples = args.Path("samples", null, "IDX file of greyscale samples (N×H×W bytes) instead of a checkpoint"),
            Count = args.Int("count", defaults.Count, "samples to draw from the checkpoint", min: 2, max: 1_000_000),
            Mode = args.Choice("bn", defaults.Mode, "BatchNorm statistics when drawing: train (batch statistics, as the seed samples) or eval (running statistics)"),
            Seed = (ulong)args.Int("seed", (int)defaults.Seed, "seed of the samples' noise", min: 0),
            Classifier = args.Path("classifier", defaults.Classifier, "classifier of the data (made by 'classifier --data DIR --out FILE'), whose features and predictions are measured; MNIST's by default"),
            Json = args.Path("json", null, "also write the figures to this JSON file"),
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
        };
    }

    public static void Run(EvalOptions options, TextWriter output)
    {
        if ((options.Checkpoint is null) == (options.Samples is null))
            throw new UsageException("give either --checkpoint or --samples");
        var clock = Stopwatch.StartNew();
        options = options with { Checkpoint = options.Checkpoint is { } given ? RunFolder.CheckpointOf(given) : null };
        var checkpoint = options.Checkpoint is { } checkpointPath ? Checkpoint.Read(checkpointPath) : null;
        // A folder of pictures is converted to the checkpoint's images, as its run converted them.
        var shape = checkpoint?.Header.Config.Image;
        var pictures = shape is null ? null : new ImageFolderOptions(shape.Height == shape.Width ? shape.Height : null, shape.Channels);
        Measure(options, MeasuredData.Load(options.DataDir, pictures, output), output, clock, checkpoint);
    }

    /// <summary>
    /// The measures against data already read (<see cref="EvalOptions.DataDir"/> names it in no message), of the
    /// samples file or of <paramref name="checkpoint"/>, read from <see cref="EvalOptions.Checkpoint"/> when not given.
    /// </summary>
    public static void Measure(EvalOptions options, MeasuredData data, TextWriter output, Stopwatch clock, Checkpoint.Contents? checkpoint = null)
    {
        options = options with { Checkpoint = options.Checkpoint is { } given ? RunFolder.CheckpointOf(given) : null };
        var samplesFromFile = options.Samples is { } idxPath ? ReadSamples(idxPath, data) : null;
        checkpoint ??= options.Checkpoint is { } checkpointPath ? Checkpoint.Read(checkpointPath) : null;
        if (checkpoint is not null && checkpoint.Header.Config.ImagePixels != data.Pixels)
            throw new CheckpointException($"{options.Checkpoint}: a generator of {checkpoint.Header.Config.ImagePixels}-pixel images, " +
                $"{Printable.Escape(data.Name)}'s have {data.Pixels}");
        var classifierFile = Evaluation.ReadClassifier(options.Classifier, data);

        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        var loaded = classifierFile is { } file ? ClassifierFile.ToDevice(file, kernels, maxRows: 1_000) : ((Classifier, ClassifierFile.Header)?)null;
        using var classifier = loaded?.Item1;
        var header = loaded?.Item2;
        output.WriteLine(header is null
            ? Evaluation.UnlabelledLine(data)
            : string.Create(CultureInfo.InvariantCulture,
                $"classifier: {options.Classifier} (test accuracy {100 * header.TestAccuracy:F2}%), of {header.Learned}"));

        string source;
        byte[] samples;
        if (checkpoint is not null)
        {
            using var gan = Sampling.Restore(kernels, checkpoint, options.Checkpoint!);
            samples = Sampling.ToBytes(Sampling.Draw(kernels, gan, options.Count, options.Mode, options.Seed));
            source = $"{options.Count} samples from {options.Checkpoint} (BatchNorm {CommandArgs.ChoiceName(options.Mode)}, seed {options.Seed})";
        }
        else
        {
            samples = samplesFromFile!;
            source = $"{samples.Length / data.Pixels} samples from {options.Samples}";
        }
        output.WriteLine($"measuring {source}");

        var setClock = Stopwatch.StartNew();
        using var quality = Evaluation.OpenQuality(kernels, classifier, data);
        var measured = quality.Evaluate(samples);
        double samplesSeconds = setClock.Elapsed.TotalSeconds;
        setClock.Restart();
        var ceiling = quality.Evaluate(Evaluation.CeilingImages(data, Evaluation.DefaultCount));
        double ceilingSeconds = setClock.Elapsed.TotalSeconds;
        double seconds = clock.Elapsed.TotalSeconds;
        WriteTable(output, measured, ceiling, data.Classes);
        if (Evaluation.PaperComparison(data) is { } paper) output.WriteLine(paper);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done in {seconds:F1} s (samples measured in {samplesSeconds:F1} s, the test set's side included; real images in {ceilingSeconds:F1} s)"));

        if (options.Json is { } jsonPath)
            JsonFile.Write(jsonPath, new
            {
                source,
                data = data.Fingerprint?.ToString() ?? Printable.Escape(data.Name),
                classifier = header is null ? null : options.Classifier,
                classifier_test_accuracy = header?.TestAccuracy,
                samples = ToJson(measured),
                real_training_digits = ToJson(ceiling),
                seconds,
            });
    }

    static byte[] ReadSamples(string path, MeasuredData data)
    {
        var images = IdxFile.ReadImages(path);
        if (data.Channels != 1 || images.Rows != data.Height || images.Columns != data.Width)
            throw new DataFormatException(path, $"samples are {images.Rows}×{images.Columns}, {Printable.Escape(data.Name)}'s images are {data.Channels}×{data.Height}×{data.Width}");
        if (images.Count < 2) throw new DataFormatException(path, "one sample: the measures need at least 2");
        return images.Pixels;
    }

    /// <summary>The figures side by side; "-" for a measure not taken, one row per class of the data.</summary>
    static void WriteTable(TextWriter output, QualityReport samples, QualityReport real, int classes)
    {
        string Line(string name, string left, string right) => $"{name,-28}{left,22}{right,22}";
        string Row(string name, Func<QualityReport, string> figure) => Line(name, figure(samples), figure(real));
        string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
        string Optional(double? value, Func<double, string> format) => value is { } v ? format(v) : "-";
        output.WriteLine(Line("", $"samples ({samples.Count})", $"real train ({real.Count})"));
        output.WriteLine(Row("Parzen log-likelihood", r => F($"{r.Parzen.Mean:F1} ± {r.Parzen.StandardError:F1}")));
        output.WriteLine(Row("  window σ", r => F($"{r.Parzen.Sigma:F4}")));
        output.WriteLine(Row("Fréchet distance to test", r => Optional(r.Frechet, v => F($"{v:F3}"))));
        output.WriteLine(Row(classes > 0 ? $"classifier score (max {classes})" : "classifier score", r => Optional(r.ClassifierScore, v => F($"{v:F3}"))));
        output.WriteLine(Row("smallest class share", r => Optional(r.MinClassShare, v => F($"{100 * v:F1}%"))));
        for (int c = 0; c < samples.ClassShares.Length; c++)
            output.WriteLine(Row($"  class {c}", r => F($"{100 * r.ClassShares[c]:F1}%")));
    }

    /// <summary>A measure not taken is null in the JSON, never 0.</summary>
    static object ToJson(QualityReport report) => new
    {
        count = report.Count,
        parzen = new { mean = report.Parzen.Mean, standard_error = report.Parzen.StandardError, sigma = report.Parzen.Sigma },
        frechet = report.Frechet,
        classifier_score = report.ClassifierScore,
        min_class_share = report.MinClassShare,
        class_shares = report.ClassShares,
    };
}

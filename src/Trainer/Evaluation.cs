using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `eval` was asked to measure: samples from a checkpoint or from an IDX file, against an MNIST folder.</summary>
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
/// The `eval` command and what `train --eval-every` shares with it: the MNIST images each measure uses, the
/// committed classifier, and the figures printed beside those of real training digits, their ceiling.
/// </summary>
public static class Evaluation
{
    public const int DefaultCount = 10_000;
    /// <summary>Goodfellow et al.'s parzen_ll.py chooses σ on the first 1,000 digits of train[50000:60000].</summary>
    const int ValidationCount = 1_000, ValidationTail = 10_000;
    const string ClassifierFileName = "mnist-classifier.bin";

    /// <summary>The classifier committed in the repository, copied beside the executable by the build.</summary>
    public static string DefaultClassifierPath => Path.Combine(AppContext.BaseDirectory, "models", ClassifierFileName);

    /// <summary>The first 1,000 of the last 10,000 training digits (train[50000:51000] for MNIST), or all of a smaller set.</summary>
    public static byte[] ValidationImages(MnistSplit train)
    {
        int start = Math.Max(0, train.Count - ValidationTail), count = Math.Min(ValidationCount, train.Count - start);
        return train.Images.AsSpan(start * MnistDataset.PixelsPerImage, count * MnistDataset.PixelsPerImage).ToArray();
    }

    /// <summary>
    /// The real digits the ceiling is measured on: the first <paramref name="count"/> training digits, none
    /// of them a test digit nor, for MNIST, a validation digit.
    /// </summary>
    public static byte[] CeilingImages(MnistSplit train, int count) =>
        train.Images.AsSpan(0, Math.Min(count, train.Count) * MnistDataset.PixelsPerImage).ToArray();

    /// <summary>The classifier file on the device; a missing one is named with how to make it.</summary>
    public static (Classifier Classifier, ClassifierFile.Header Header) LoadClassifier(string path, KernelSet kernels)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path}: no classifier file; the repository ships models/{ClassifierFileName}, or retrain it with " +
                $"'{CommandLine.ProgramName} classifier --data DIR --out {path}'", path);
        // Batches of 1,000 rows: the classifier's buffers stay small whatever the number of images.
        var (classifier, header) = ClassifierFile.Load(path, kernels, maxRows: 1_000);
        if (header.Pixels != MnistDataset.PixelsPerImage)
        {
            classifier.Dispose();
            throw new CheckpointException($"{path}: a classifier of {header.Pixels}-pixel images, MNIST's have {MnistDataset.PixelsPerImage}");
        }
        return (classifier, header);
    }

    /// <summary>The measures against an MNIST folder's test set, σ chosen on its validation digits.</summary>
    public static SampleQuality OpenQuality(KernelSet kernels, Classifier classifier, MnistDataset mnist) =>
        new(kernels, classifier, mnist.Test.Images, ValidationImages(mnist.Train));

    public static void Run(EvalOptions options, TextWriter output)
    {
        if ((options.Checkpoint is null) == (options.Samples is null))
            throw new UsageException("give either --checkpoint or --samples");
        var clock = Stopwatch.StartNew();
        var mnist = MnistDataset.Load(options.DataDir);
        var samplesFromFile = options.Samples is { } idxPath ? ReadSamples(idxPath) : null;
        var checkpoint = options.Checkpoint is { } checkpointPath ? Model.Checkpoint.Read(checkpointPath) : null;

        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        var (classifier, header) = LoadClassifier(options.Classifier, kernels);
        using var _ = classifier;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"classifier: {options.Classifier} (test accuracy {100 * header.TestAccuracy:F2}%)"));

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
            source = $"{samples.Length / MnistDataset.PixelsPerImage} samples from {options.Samples}";
        }
        output.WriteLine($"measuring {source}");

        var setClock = Stopwatch.StartNew();
        using var quality = OpenQuality(kernels, classifier, mnist);
        var measured = quality.Evaluate(samples);
        double samplesSeconds = setClock.Elapsed.TotalSeconds;
        setClock.Restart();
        var ceiling = quality.Evaluate(CeilingImages(mnist.Train, DefaultCount));
        double ceilingSeconds = setClock.Elapsed.TotalSeconds;
        double seconds = clock.Elapsed.TotalSeconds;
        WriteTable(output, measured, ceiling);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done in {seconds:F1} s (samples measured in {samplesSeconds:F1} s, the test set's side included; real digits in {ceilingSeconds:F1} s)"));

        if (options.Json is { } jsonPath)
        {
            var json = new
            {
                source,
                classifier = options.Classifier,
                classifier_test_accuracy = header.TestAccuracy,
                samples = ToJson(measured),
                real_training_digits = ToJson(ceiling),
                seconds,
            };
            AtomicFile.WriteAllText(jsonPath, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        }
    }

    static byte[] ReadSamples(string path)
    {
        var images = IdxFile.ReadImages(path);
        if (images.Rows != MnistDataset.Side || images.Columns != MnistDataset.Side)
            throw new DataFormatException(path, $"samples are {images.Rows}×{images.Columns}, MNIST's are {MnistDataset.Side}×{MnistDataset.Side}");
        if (images.Count < 2) throw new DataFormatException(path, "one sample: the measures need at least 2");
        return images.Pixels;
    }

    static void WriteTable(TextWriter output, QualityReport samples, QualityReport real)
    {
        string Line(string name, string left, string right) => $"{name,-28}{left,22}{right,22}";
        string Row(string name, Func<QualityReport, string> figure) => Line(name, figure(samples), figure(real));
        string F(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
        output.WriteLine(Line("", $"samples ({samples.Count})", $"real train ({real.Count})"));
        output.WriteLine(Row("Parzen log-likelihood", r => F($"{r.Parzen.Mean:F1} ± {r.Parzen.StandardError:F1}")));
        output.WriteLine(Row("  window σ", r => F($"{r.Parzen.Sigma:F4}")));
        output.WriteLine(Row("Fréchet distance to test", r => F($"{r.Frechet:F3}")));
        output.WriteLine(Row("classifier score (max 10)", r => F($"{r.ClassifierScore:F3}")));
        output.WriteLine(Row("smallest class share", r => F($"{100 * r.MinClassShare:F1}%")));
        for (int c = 0; c < samples.ClassShares.Length; c++)
            output.WriteLine(Row($"  class {c}", r => F($"{100 * r.ClassShares[c]:F1}%")));
        output.WriteLine("(Goodfellow et al. 2014, Table 1: adversarial nets 225 ± 2 on MNIST)");
    }

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

/// <summary>`train --eval-every`: eval's measures of the generator as it trains, the test set's side computed once.</summary>
public sealed class TrainingEvaluation : IDisposable
{
    /// <summary>eval's default seed: a run's figures are those `eval --checkpoint` gives at the same step.</summary>
    const ulong SampleSeed = 1;

    readonly KernelSet kernels;
    readonly Classifier classifier;
    readonly SampleQuality quality;
    readonly int count;

    public TrainingEvaluation(KernelSet kernels, MnistDataset mnist, int count)
    {
        this.kernels = kernels;
        this.count = count;
        (classifier, _) = Evaluation.LoadClassifier(Evaluation.DefaultClassifierPath, kernels);
        quality = Evaluation.OpenQuality(kernels, classifier, mnist);
    }

    /// <summary>Draws the samples in train-mode BatchNorm, as the seed samples, leaving the running statistics alone.</summary>
    public QualityReport Measure(Gan gan, TextWriter output)
    {
        var report = quality.Evaluate(Sampling.ToBytes(Sampling.Draw(kernels, gan, count, SampleMode.Train, SampleSeed)));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  quality: Parzen {report.Parzen.Mean:F1} ± {report.Parzen.StandardError:F1} (σ {report.Parzen.Sigma:F3}), Fréchet {report.Frechet:F3}, score {report.ClassifierScore:F3}, smallest class {100 * report.MinClassShare:F1}%"));
        return report;
    }

    public void Dispose()
    {
        quality.Dispose();
        classifier.Dispose();
    }
}

using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Metrics;

/// <summary>`train --eval-every`: eval's measures of the generator as it trains, the test set's side computed once.</summary>
public sealed class TrainingEvaluation : IDisposable
{
    /// <summary>eval's default seed: a run's figures are those `eval --checkpoint` gives at the same step.</summary>
    const ulong SampleSeed = 1;

    readonly KernelSet kernels;
    readonly Classifier classifier;
    readonly SampleQuality quality;
    readonly int count;
    readonly MnistSplit train;

    /// <summary>Measures of <paramref name="count"/> samples against <paramref name="mnist"/>.</summary>
    public TrainingEvaluation(KernelSet kernels, MnistDataset mnist, int count)
    {
        this.kernels = kernels;
        this.count = count;
        train = mnist.Train;
        (classifier, _) = Evaluation.LoadClassifier(Evaluation.DefaultClassifierPath, kernels);
        quality = Evaluation.OpenQuality(kernels, classifier, mnist);
    }

    /// <summary>
    /// The same measures of as many real training digits as samples, the ceiling the run's report draws beside its
    /// figures; measured once per run folder, when the file is not there yet.
    /// </summary>
    public void WriteCeiling(string path, TextWriter output)
    {
        if (File.Exists(path)) return;
        var report = quality.Evaluate(Evaluation.CeilingImages(train, count));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  real digits: Parzen {report.Parzen.Mean:F1}, Fréchet {report.Frechet:F3}, score {report.ClassifierScore:F3}, smallest class {100 * report.MinClassShare:F1}%"));
        JsonFile.Write(path, new Dictionary<string, double>
        {
            ["parzen"] = report.Parzen.Mean, ["frechet"] = report.Frechet,
            ["classifier_score"] = report.ClassifierScore, ["min_class_share"] = report.MinClassShare,
        });
    }

    /// <summary>Draws the samples in train-mode BatchNorm, as the reference samples, leaving the running statistics alone.</summary>
    public QualityReport Measure(Gan gan, TextWriter output)
    {
        var report = quality.Evaluate(Sampling.ToBytes(Sampling.Draw(kernels, gan, count, SampleMode.Train, SampleSeed)));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  quality: Parzen {report.Parzen.Mean:F1} ± {report.Parzen.StandardError:F1} (σ {report.Parzen.Sigma:F3}), Fréchet {report.Frechet:F3}, score {report.ClassifierScore:F3}, smallest class {100 * report.MinClassShare:F1}%"));
        return report;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        quality.Dispose();
        classifier.Dispose();
    }
}

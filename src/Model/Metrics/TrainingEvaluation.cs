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
    readonly Classifier? classifier;
    readonly SampleQuality quality;
    readonly int count;
    readonly MeasuredData data;

    /// <summary>Measures of <paramref name="count"/> samples against <paramref name="data"/>.</summary>
    /// <param name="kernels">The kernels the measures run.</param>
    /// <param name="data">The data measured against.</param>
    /// <param name="count">The samples drawn for each measure.</param>
    /// <param name="output">Where the measures' lines go.</param>
    /// <param name="classifierPath">a classifier of <paramref name="data"/>, refused when it learned other data; unused for unlabelled data.</param>
    public TrainingEvaluation(KernelSet kernels, MeasuredData data, string classifierPath, int count, TextWriter output)
    {
        this.kernels = kernels;
        this.count = count;
        this.data = data;
        classifier = Evaluation.LoadClassifier(classifierPath, data, kernels)?.Classifier;
        if (classifier is null) output.WriteLine(Evaluation.UnlabelledLine(data));
        quality = Evaluation.OpenQuality(kernels, classifier, data);
    }

    /// <summary>
    /// The same measures of as many real training images as samples, the ceiling the run's report draws beside its
    /// figures; measured once per run folder, when the file is not there yet. A measure not taken is left out.
    /// </summary>
    public void WriteCeiling(string path, TextWriter output)
    {
        if (File.Exists(path)) return;
        var report = quality.Evaluate(Evaluation.CeilingImages(data, count));
        output.WriteLine($"  real images: {Summary(report)}");
        var figures = new Dictionary<string, double> { ["parzen"] = report.Parzen.Mean };
        if (report.Frechet is { } frechet) figures["frechet"] = frechet;
        if (report.ClassifierScore is { } score) figures["classifier_score"] = score;
        if (report.MinClassShare is { } share) figures["min_class_share"] = share;
        JsonFile.Write(path, figures);
    }

    /// <summary>Draws the samples in train-mode BatchNorm, as the reference samples, leaving the running statistics alone.</summary>
    public QualityReport Measure(Gan gan, TextWriter output)
    {
        var report = quality.Evaluate(Sampling.ToBytes(Sampling.Draw(kernels, gan, count, SampleMode.Train, SampleSeed)));
        output.WriteLine($"  quality: {Summary(report)}");
        return report;
    }

    static string Summary(QualityReport report)
    {
        var text = string.Create(CultureInfo.InvariantCulture,
            $"Parzen {report.Parzen.Mean:F1} ± {report.Parzen.StandardError:F1} (σ {report.Parzen.Sigma:F3})");
        return report.Frechet is { } frechet
            ? text + string.Create(CultureInfo.InvariantCulture,
                $", Fréchet {frechet:F3}, score {report.ClassifierScore:F3}, smallest class {100 * report.MinClassShare:F1}%")
            : text;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        quality.Dispose();
        classifier?.Dispose();
    }
}

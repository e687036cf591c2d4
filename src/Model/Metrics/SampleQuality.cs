using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Metrics;

/// <summary>
/// What a set of images scores: Parzen log-likelihood, and where a classifier measured them, the Fréchet distance to
/// the test set, the classifier score and the share of each class (null, and no shares, without one).
/// </summary>
public sealed record QualityReport(int Count, ParzenResult Parzen, double? Frechet, double? ClassifierScore, double[] ClassShares)
{
    /// <summary>The least share of any class among the samples; null without classes.</summary>
    public double? MinClassShare => ClassShares.Length > 0 ? ClassShares.Min() : null;
}

/// <summary>A set of images seen through the classifier: its feature moments and its predictions, on the host.</summary>
public sealed record ClassifierView(double[] FeatureMean, double[,] FeatureCovariance, float[] Probabilities, int Classes);

/// <summary>
/// Measures of a set of images against a data set: the Parzen log-likelihood of the test set under the images,
/// and, with a classifier of the data, the Fréchet distance between the images' and the test set's classifier
/// features, the classifier score exp(E_x KL(p(y|x) ‖ p(y))) and the share of images per predicted class. The test
/// set's side is computed once, so a training run can evaluate every few epochs cheaply.
/// </summary>
public sealed class SampleQuality : IDisposable
{
    readonly KernelSet kernels;
    readonly Classifier? classifier;
    readonly int pixels;
    readonly DeviceImages validation, test;
    readonly ClassifierView? testView;

    /// <param name="kernels">The kernels the measures run.</param>
    /// <param name="classifier">The classifier of the data; null for data without labels: Parzen only.</param>
    /// <param name="pixels">The values of an image.</param>
    /// <param name="testImages">the images whose likelihood Parzen measures and whose features Fréchet compares with.</param>
    /// <param name="validationImages">the images that choose Parzen's σ.</param>
    public SampleQuality(KernelSet kernels, Classifier? classifier, int pixels, byte[] testImages, byte[] validationImages)
    {
        if (classifier is not null && classifier.In != pixels)
            throw new ArgumentException($"a classifier of {classifier.In}-pixel images for images of {pixels}");
        this.kernels = kernels;
        this.classifier = classifier;
        this.pixels = pixels;
        validation = new DeviceImages(kernels, validationImages, pixels);
        test = new DeviceImages(kernels, testImages, pixels);
        testView = classifier is null ? null : View(classifier, test);
    }

    /// <summary>The measures of images given as bytes (count × pixels, 0–255).</summary>
    public QualityReport Evaluate(byte[] images)
    {
        using var samples = new DeviceImages(kernels, images, pixels);
        var parzen = ParzenWindow.Estimate(kernels, samples, validation, test, ParzenWindow.PaperSigmas);
        if (classifier is null) return new QualityReport(samples.Count, parzen, null, null, []);
        var view = View(classifier, samples);
        double frechet = FrechetDistance.Compute(view.FeatureMean, view.FeatureCovariance, testView!.FeatureMean,
            testView.FeatureCovariance);
        var (score, shares) = ClassifierScore.Compute(view.Probabilities, view.Classes);
        return new QualityReport(samples.Count, parzen, frechet, score, shares);
    }

    /// <summary>Features and probabilities on the device; the moments by centring and a GEMM there too.</summary>
    ClassifierView View(Classifier classifier, DeviceImages images)
    {
        int n = images.Count, f = classifier.FeatureCount, classes = classifier.Classes;
        if (n < 2) throw new ArgumentException($"{n} image: a covariance needs at least 2");
        var accelerator = kernels.Device.Accelerator;
        using var features = accelerator.Allocate1D<float>((long)n * f);
        using var probabilities = accelerator.Allocate1D<float>((long)n * classes);
        using var means = accelerator.Allocate1D<float>(f);
        using var covariance = accelerator.Allocate1D<float>((long)f * f);
        classifier.Predict(images.Pixels, n, features.View, probabilities.View);
        kernels.Statistics.CenterColumns(features.View, means.View, n, f);
        kernels.Gemm.Multiply(features.View, true, features.View, false, covariance.View, f, f, n);
        var products = covariance.GetAsArray1D();
        var matrix = new double[f, f];
        for (int i = 0; i < f; i++)
            for (int j = 0; j < f; j++)
                matrix[i, j] = products[i * f + j] / (n - 1.0);
        return new ClassifierView(Array.ConvertAll(means.GetAsArray1D(), v => (double)v), matrix,
            probabilities.GetAsArray1D(), classes);
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        validation.Dispose();
        test.Dispose();
    }
}

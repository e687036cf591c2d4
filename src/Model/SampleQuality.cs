using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model;

/// <summary>A Parzen-window estimate: the mean log-likelihood of the test images, its standard error, the window's σ.</summary>
public sealed record ParzenResult(double Mean, double StandardError, double Sigma);

/// <summary>What a set of images scores: Parzen log-likelihood, Fréchet distance to the test set, classifier score, class shares.</summary>
public sealed record QualityReport(int Count, ParzenResult Parzen, double Frechet, double ClassifierScore, double[] ClassShares)
{
    public double MinClassShare => ClassShares.Min();
}

/// <summary>Images on the device with pixels in [0, 1], and their squared norms for Parzen distances.</summary>
public sealed class DeviceImages : IDisposable
{
    readonly MemoryBuffer1D<float, Stride1D.Dense> pixels, norms;

    /// <param name="bytes">count × pixelsPerImage bytes, 0–255, as IDX files and saved images hold them.</param>
    public DeviceImages(KernelSet kernels, ReadOnlySpan<byte> bytes, int pixelsPerImage)
    {
        if (pixelsPerImage < 1 || bytes.Length == 0 || bytes.Length % pixelsPerImage != 0)
            throw new ArgumentException($"{bytes.Length} bytes are not whole images of {pixelsPerImage} pixels");
        Count = bytes.Length / pixelsPerImage;
        PixelsPerImage = pixelsPerImage;
        var accelerator = kernels.Device.Accelerator;
        pixels = accelerator.Allocate1D(ToUnitInterval(bytes));
        norms = accelerator.Allocate1D<float>(Count);
        kernels.Statistics.RowSquaredNorms(pixels.View, norms.View, Count, pixelsPerImage);
    }

    /// <summary>b/255: the pixels Parzen windows and the classifier take.</summary>
    public static float[] ToUnitInterval(ReadOnlySpan<byte> bytes)
    {
        var unit = new float[bytes.Length];
        for (int i = 0; i < unit.Length; i++) unit[i] = bytes[i] / 255f;
        return unit;
    }

    public int Count { get; }
    public int PixelsPerImage { get; }
    public ArrayView<float> Pixels => pixels.View;
    public ArrayView<float> Norms => norms.View;

    public void Dispose()
    {
        pixels.Dispose();
        norms.Dispose();
    }
}

/// <summary>
/// The Parzen-window log-likelihood of Goodfellow et al. (2014, Table 1) and of their parzen_ll.py: a Gaussian
/// of width σ on every sample, σ chosen from logspace(−1, 0, 10) by the mean log-likelihood of a validation
/// set, then log p(x) = log mean_j exp(−‖x − s_j‖² / 2σ²) − d·log(σ√(2π)) for each test image x.
/// </summary>
public static class ParzenWindow
{
    /// <summary>The paper's candidate widths: numpy.logspace(−1, 0, 10).</summary>
    public static IReadOnlyList<double> PaperSigmas { get; } = Enumerable.Range(0, 10).Select(i => Math.Pow(10, -1 + i / 9.0)).ToArray();

    /// <summary>Floats of one chunk of query-to-sample dot products: bounds the device memory of a 10k × 10k evaluation.</summary>
    const long DotsPerChunk = 1 << 24;

    /// <summary>σ by the validation set's mean log-likelihood, then the test images' mean and standard error.</summary>
    public static ParzenResult Estimate(KernelSet kernels, DeviceImages samples, DeviceImages validation, DeviceImages test,
        IReadOnlyList<double> sigmas)
    {
        var validationLikelihoods = LogLikelihoods(kernels, validation, samples, sigmas);
        int best = 0;
        for (int i = 1; i < sigmas.Count; i++)
            if (validationLikelihoods[i].Average() > validationLikelihoods[best].Average()) best = i;
        var testLikelihoods = LogLikelihoods(kernels, test, samples, [sigmas[best]])[0];
        double mean = testLikelihoods.Average();
        // numpy's std (ddof 0) over √n, as parzen_ll.py reports it.
        double std = Math.Sqrt(testLikelihoods.Sum(v => (v - mean) * (v - mean)) / testLikelihoods.Length);
        return new ParzenResult(mean, std / Math.Sqrt(testLikelihoods.Length), sigmas[best]);
    }

    /// <summary>log p(query) under the window of each σ: [σ index][query index]. Distances on our GEMM, in chunks of queries.</summary>
    public static double[][] LogLikelihoods(KernelSet kernels, DeviceImages queries, DeviceImages samples, IReadOnlyList<double> sigmas)
    {
        if (queries.PixelsPerImage != samples.PixelsPerImage)
            throw new ArgumentException($"queries have {queries.PixelsPerImage} pixels, samples {samples.PixelsPerImage}");
        int d = samples.PixelsPerImage, n = samples.Count;
        int chunkRows = (int)Math.Clamp(DotsPerChunk / n, 1, queries.Count);
        var accelerator = kernels.Device.Accelerator;
        using var dots = accelerator.Allocate1D<float>((long)chunkRows * n);
        using var logSums = accelerator.Allocate1D<float>((long)sigmas.Count * queries.Count);
        for (int start = 0; start < queries.Count; start += chunkRows)
        {
            int rows = Math.Min(chunkRows, queries.Count - start);
            kernels.Gemm.Multiply(queries.Pixels.SubView((long)start * d, (long)rows * d), false, samples.Pixels, true,
                dots.View, rows, n, d);
            for (int s = 0; s < sigmas.Count; s++)
                kernels.Statistics.GaussianLogSumExp(dots.View, queries.Norms.SubView(start, rows), samples.Norms,
                    logSums.View.SubView((long)s * queries.Count + start, rows), rows, n,
                    (float)(1 / (2 * sigmas[s] * sigmas[s])));
        }
        var sums = logSums.GetAsArray1D();
        return sigmas.Select((sigma, s) =>
        {
            double constant = Math.Log(n) + d * Math.Log(sigma * Math.Sqrt(2 * Math.PI));
            return Enumerable.Range(0, queries.Count).Select(q => sums[(long)s * queries.Count + q] - constant).ToArray();
        }).ToArray();
    }
}

/// <summary>A set of images seen through the classifier: its feature moments and its predictions, on the host.</summary>
public sealed record ClassifierView(double[] FeatureMean, double[,] FeatureCovariance, float[] Probabilities, int Classes);

/// <summary>
/// Measures of a set of images against MNIST: the Parzen log-likelihood of the test set under the images,
/// the Fréchet distance between the images' and the test set's classifier features, the classifier score
/// exp(E_x KL(p(y|x) ‖ p(y))) and the share of images per predicted class. The test set's side is computed
/// once, so a training run can evaluate every few epochs cheaply.
/// </summary>
public sealed class SampleQuality : IDisposable
{
    readonly KernelSet kernels;
    readonly Classifier classifier;
    readonly DeviceImages validation, test;
    readonly ClassifierView testView;

    /// <param name="testImages">the images whose likelihood Parzen measures and whose features Fréchet compares with.</param>
    /// <param name="validationImages">the images that choose Parzen's σ.</param>
    public SampleQuality(KernelSet kernels, Classifier classifier, byte[] testImages, byte[] validationImages)
    {
        this.kernels = kernels;
        this.classifier = classifier;
        validation = new DeviceImages(kernels, validationImages, classifier.In);
        test = new DeviceImages(kernels, testImages, classifier.In);
        testView = View(test);
    }

    /// <summary>The measures of images given as bytes (count × pixels, 0–255).</summary>
    public QualityReport Evaluate(byte[] images)
    {
        using var samples = new DeviceImages(kernels, images, classifier.In);
        var parzen = ParzenWindow.Estimate(kernels, samples, validation, test, ParzenWindow.PaperSigmas);
        var view = View(samples);
        double frechet = FrechetDistance.Compute(view.FeatureMean, view.FeatureCovariance, testView.FeatureMean,
            testView.FeatureCovariance);
        var (score, shares) = ClassifierScore.Compute(view.Probabilities, view.Classes);
        return new QualityReport(samples.Count, parzen, frechet, score, shares);
    }

    /// <summary>Features and probabilities on the device; the moments by centring and a GEMM there too.</summary>
    ClassifierView View(DeviceImages images)
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

    public void Dispose()
    {
        validation.Dispose();
        test.Dispose();
    }
}

/// <summary>exp(E_x KL(p(y|x) ‖ p(y))) of a classifier's probabilities, and the share of images per predicted class.</summary>
public static class ClassifierScore
{
    /// <param name="probabilities">[count, classes], rows summing to 1.</param>
    public static (double Score, double[] Shares) Compute(ReadOnlySpan<float> probabilities, int classes)
    {
        int count = probabilities.Length / classes;
        var marginal = new double[classes];
        var shares = new double[classes];
        for (int r = 0; r < count; r++)
        {
            var row = probabilities.Slice(r * classes, classes);
            for (int c = 0; c < classes; c++) marginal[c] += row[c] / (double)count;
            shares[PredictedClass(row)] += 1.0 / count;
        }
        double meanKl = 0;
        for (int r = 0; r < count; r++)
            for (int c = 0; c < classes; c++)
            {
                double p = probabilities[r * classes + c];
                // 0·log 0 = 0: a class the classifier rules out adds nothing.
                if (p > 0) meanKl += p * Math.Log(p / marginal[c]) / count;
            }
        return (Math.Exp(meanKl), shares);
    }

    /// <summary>The most probable class of one row; the first on a tie.</summary>
    public static int PredictedClass(ReadOnlySpan<float> probabilities)
    {
        int predicted = 0;
        for (int c = 1; c < probabilities.Length; c++)
            if (probabilities[c] > probabilities[predicted]) predicted = c;
        return predicted;
    }
}

/// <summary>
/// The Fréchet distance between two Gaussians, ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2·tr (Σ1 Σ2)^½, in float64 on the
/// host: tr (Σ1 Σ2)^½ is the sum of the square roots of the eigenvalues of Σ1^½ Σ2 Σ1^½, which is symmetric,
/// so two symmetric eigendecompositions do (no general matrix square root, as scipy's sqrtm needs).
/// </summary>
public static class FrechetDistance
{
    public static double Compute(double[] mean1, double[,] covariance1, double[] mean2, double[,] covariance2)
    {
        int n = mean1.Length;
        if (mean2.Length != n || covariance1.GetLength(0) != n || covariance2.GetLength(0) != n)
            throw new ArgumentException($"moments of {n} and {mean2.Length} features");
        double distance = 0;
        for (int i = 0; i < n; i++)
            distance += (mean1[i] - mean2[i]) * (mean1[i] - mean2[i]) + covariance1[i, i] + covariance2[i, i];
        var root1 = SquareRoot(covariance1);
        var product = Multiply(Multiply(root1, covariance2), root1);
        // Rounding can leave tiny negative eigenvalues of a positive semi-definite product: they are 0.
        return distance - 2 * SymmetricEigen(product).Values.Sum(v => Math.Sqrt(Math.Max(v, 0)));
    }

    /// <summary>The positive semi-definite square root V·diag(√λ)·Vᵀ of a symmetric matrix.</summary>
    public static double[,] SquareRoot(double[,] symmetric)
    {
        var (values, vectors) = SymmetricEigen(symmetric);
        int n = values.Length;
        var root = new double[n, n];
        for (int k = 0; k < n; k++)
        {
            double s = Math.Sqrt(Math.Max(values[k], 0));
            for (int i = 0; i < n; i++)
            {
                double vik = vectors[i, k] * s;
                for (int j = 0; j < n; j++) root[i, j] += vik * vectors[j, k];
            }
        }
        return root;
    }

    static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
            {
                double aik = a[i, k];
                for (int j = 0; j < n; j++) c[i, j] += aik * b[k, j];
            }
        return c;
    }

    /// <summary>
    /// Eigenvalues and eigenvectors (the columns of Vectors) of a symmetric matrix by cyclic Jacobi rotations:
    /// slower than tridiagonal QR, but short, and accurate to the last digits for the 256×256 covariances here.
    /// </summary>
    public static (double[] Values, double[,] Vectors) SymmetricEigen(double[,] symmetric)
    {
        int n = symmetric.GetLength(0);
        var a = (double[,])symmetric.Clone();
        var v = new double[n, n];
        for (int i = 0; i < n; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double offDiagonal = 0, diagonal = 0;
            for (int i = 0; i < n; i++)
            {
                diagonal += a[i, i] * a[i, i];
                for (int j = i + 1; j < n; j++) offDiagonal += a[i, j] * a[i, j];
            }
            // Relative off-diagonal norm 1e-12: rounding keeps a float64 sweep from going much below.
            if (offDiagonal <= 1e-24 * diagonal) break;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p, q];
                    if (apq == 0) continue;
                    // The rotation that zeroes a[p,q] (Golub & Van Loan, Algorithm 8.5.1), the smaller angle.
                    double theta = (a[q, q] - a[p, p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i, i];
        return (values, v);
    }
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Metrics;

/// <summary>A Parzen-window estimate: the mean log-likelihood of the test images, its standard error, the window's σ.</summary>
public sealed record ParzenResult(double Mean, double StandardError, double Sigma);

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

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class StatisticsTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    Statistics ops = null!;

    [OneTimeSetUp]
    public void LoadKernels() => ops = new Statistics(Device);

    public static IEnumerable<object[]> Shapes() =>
        from rows in TestData.OddSizes
        from cols in new[] { 1, 7, 100 }
        select new object[] { rows, cols };

    [TestCaseSource(nameof(Shapes))]
    public void RowSquaredNormsMatchReference(int rows, int cols)
    {
        var x = TestData.Uniform(new Random(rows * 31 + cols), rows * cols);
        using var xs = TestData.Upload(Device, x);
        using var norms = TestData.Poisoned(Device, rows);

        ops.RowSquaredNorms(xs.View, norms.View, rows, cols);

        var expected = Enumerable.Range(0, rows)
            .Select(r => Enumerable.Range(0, cols).Sum(c => (double)x[r * cols + c] * x[r * cols + c])).ToArray();
        TestData.AssertClose(expected, TestData.Download(norms, rows), 1e-5, 1e-7, "norms");
    }

    /// <summary>
    /// From real vectors: dots, norms and the log-sum-exp of −scale·‖q − s‖², against float64 over the vectors
    /// themselves. A query equal to a sample puts a distance of exactly 0 among the terms.
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    public void GaussianLogSumExpMatchesReference(int rows, int cols)
    {
        const int dims = 20;
        const float scale = 3f;
        var rng = new Random(rows * 13 + cols);
        var queries = TestData.Uniform(rng, rows * dims, 0f, 1f);
        var samples = TestData.Uniform(rng, cols * dims, 0f, 1f);
        Array.Copy(samples, 0, queries, 0, dims);
        double Dot(float[] a, int i, float[] b, int j) => Enumerable.Range(0, dims).Sum(k => (double)a[i * dims + k] * b[j * dims + k]);
        var dots = new float[rows * cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) dots[r * cols + c] = (float)Dot(queries, r, samples, c);
        var queryNorms = Enumerable.Range(0, rows).Select(r => (float)Dot(queries, r, queries, r)).ToArray();
        var sampleNorms = Enumerable.Range(0, cols).Select(c => (float)Dot(samples, c, samples, c)).ToArray();
        using var dotsBuffer = TestData.Upload(Device, dots);
        using var queryBuffer = TestData.Upload(Device, queryNorms);
        using var sampleBuffer = TestData.Upload(Device, sampleNorms);
        using var output = TestData.Poisoned(Device, rows);

        ops.GaussianLogSumExp(dotsBuffer.View, queryBuffer.View, sampleBuffer.View, output.View, rows, cols, scale);

        var expected = new double[rows];
        for (int r = 0; r < rows; r++)
        {
            var exponents = Enumerable.Range(0, cols).Select(c =>
                -scale * Enumerable.Range(0, dims).Sum(k => Math.Pow(queries[r * dims + k] - samples[c * dims + k], 2))).ToArray();
            double max = exponents.Max();
            expected[r] = max + Math.Log(exponents.Sum(e => Math.Exp(e - max)));
        }
        // Distances of ~3 from float dots and norms near 7: a few 1e-6 each, times scale 3.
        TestData.AssertClose(expected, TestData.Download(output, rows), 1e-5, 3e-5, "log-sum-exp");
    }

    /// <summary>Exponents of −5,000 and below, where e^x is 0 in float: the running maximum must carry the sum.</summary>
    [Test]
    public void GaussianLogSumExpSurvivesTinyDensities()
    {
        float[] dots = [0f, 0f, 0f];
        float[] queryNorms = [100f];
        float[] sampleNorms = [0f, 1f, 2f];
        using var dotsBuffer = TestData.Upload(Device, dots);
        using var queryBuffer = TestData.Upload(Device, queryNorms);
        using var sampleBuffer = TestData.Upload(Device, sampleNorms);
        using var output = TestData.Poisoned(Device, 1);

        ops.GaussianLogSumExp(dotsBuffer.View, queryBuffer.View, sampleBuffer.View, output.View, 1, 3, 50f);

        double expected = -5000 + Math.Log(1 + Math.Exp(-50) + Math.Exp(-100));
        TestData.AssertClose([expected], TestData.Download(output, 1), 1e-6, 0, "log-sum-exp");
    }

    [TestCaseSource(nameof(Shapes))]
    public void CenterColumnsMatchesReference(int rows, int cols)
    {
        // An offset of 50 against a spread of 1: the case where E[x²] − E[x]² would lose the variance.
        var x = TestData.Uniform(new Random(rows * 5 + cols), rows * cols, 49f, 51f);
        using var xs = TestData.Upload(Device, x);
        using var means = TestData.Poisoned(Device, cols);

        ops.CenterColumns(xs.View, means.View, rows, cols);

        var expectedMeans = Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Average(r => (double)x[r * cols + c])).ToArray();
        TestData.AssertClose(expectedMeans, TestData.Download(means, cols), 1e-6, 0, "means");
        var expected = x.Select((v, i) => v - expectedMeans[i % cols]).ToArray();
        // The float mean of up to 127 values near 50 is off by up to ~3e-5 (ulps of a sum near 6,000 over rows);
        // each centred value carries that error, which shifts a covariance by only its square.
        TestData.AssertClose(expected, TestData.Download(xs, rows * cols), 0, 6e-5, "centred");
    }
}

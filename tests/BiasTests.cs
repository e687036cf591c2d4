using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class BiasTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    Bias ops = null!;

    [OneTimeSetUp]
    public void LoadKernels() => ops = new Bias(Device);

    public static IEnumerable<object[]> Shapes() =>
        from rows in TestData.OddSizes from cols in TestData.OddSizes select new object[] { rows, cols };

    /// <summary>
    /// The bias forward y = x + b makes ∂(Σ dy·y)/∂b[c] = Σ_r dy[r,c] exactly, so this reference is also the
    /// finite-difference check. With accumulate the old dbias is random, never zero, so dropping it fails.
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    public void BackwardMatchesColumnSums(int rows, int cols)
    {
        foreach (bool accumulate in new[] { false, true })
        {
            var rng = new Random(rows * 1000 + cols);
            var dy = TestData.Uniform(rng, rows * cols);
            var old = TestData.Uniform(rng, cols);
            using var dys = TestData.Upload(Device, dy);
            using var dbias = accumulate ? TestData.Upload(Device, old) : TestData.Poisoned(Device, cols);

            ops.Backward(dys.View, dbias.View, rows, cols, accumulate);

            var expected = new double[cols];
            for (int c = 0; c < cols; c++)
            {
                expected[c] = accumulate ? old[c] : 0;
                for (int r = 0; r < rows; r++) expected[c] += dy[r * cols + c];
            }
            // A float sum of ≤127 terms of size ≤1: a few float ulps of the running sum.
            TestData.AssertClose(expected, TestData.Download(dbias, cols), 1e-6, 1e-5, $"dbias (accumulate {accumulate})");
        }
    }
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class BiasTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    Bias For(KernelVariant variant) => ForVariant(variant, (device, v) => new Bias(device, v));

    /// <summary>The odd shapes, and one wide enough that every CPU worker has whole vectors and a tail is left.</summary>
    public static IEnumerable<object[]> Shapes() =>
        from shape in (from rows in TestData.OddSizes from cols in TestData.OddSizes select (rows, cols)).Append((rows: 33, cols: 301))
        from variant in new[] { KernelVariant.Portable, KernelVariant.CpuWorker }
        select new object[] { shape.rows, shape.cols, variant };

    /// <summary>
    /// The bias forward y = x + b makes ∂(Σ dy·y)/∂b[c] = Σ_r dy[r,c] exactly, so this reference is also the
    /// finite-difference check.
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    public void BackwardMatchesColumnSums(int rows, int cols, KernelVariant variant)
    {
        var rng = new Random(rows * 1000 + cols);
        var dy = TestData.Uniform(rng, rows * cols);
        using var dys = TestData.Upload(Device, dy);
        using var dbias = TestData.Poisoned(Device, cols);

        For(variant).Backward(dys.View, dbias.View, rows, cols);

        var expected = new double[cols];
        for (int i = 0; i < dy.Length; i++) expected[i % cols] += dy[i];
        // A float sum of ≤127 terms of size ≤1: a few float ulps of the running sum.
        TestData.AssertClose(expected, TestData.Download(dbias, cols), 1e-6, 1e-5, "dbias");
    }

    /// <summary>
    /// dz = dy·leaky'(z) read off the activated output y, in place over dy, and its column sums. y holds both
    /// signs and a few exact zeros (z ≤ 0 gives y ≤ 0, and leaky'(0) is the slope, as PyTorch has it).
    /// </summary>
    [TestCaseSource(nameof(Shapes))]
    public void BackwardThroughLeakyReluMatchesReference(int rows, int cols, KernelVariant variant)
    {
        const float slope = 0.2f;
        var rng = new Random(rows * 1000 + cols + 1);
        var y = TestData.Uniform(rng, rows * cols).Select((v, i) => i % 11 == 0 ? 0f : v).ToArray();
        var dy = TestData.Uniform(rng, rows * cols);
        using var ys = TestData.Upload(Device, y);
        using var dys = TestData.Upload(Device, dy);
        using var dbias = TestData.Poisoned(Device, cols);

        For(variant).BackwardThroughLeakyRelu(ys.View, dys.View, dbias.View, rows, cols, slope);

        var dz = dy.Select((g, i) => y[i] > 0 ? (double)g : slope * (double)g).ToArray();
        var expectedBias = new double[cols];
        for (int i = 0; i < dz.Length; i++) expectedBias[i % cols] += dz[i];
        TestData.AssertClose(dz, TestData.Download(dys, rows * cols), 1e-6, 0, "dz");
        TestData.AssertClose(expectedBias, TestData.Download(dbias, cols), 1e-6, 1e-5, "dbias");
    }

    [Test]
    public void BackwardThroughLeakyReluRejectsANegativeSlope()
    {
        using var buffer = TestData.Upload(Device, [1f]);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            For(KernelVariant.Auto).BackwardThroughLeakyRelu(buffer.View, buffer.View, buffer.View, 1, 1, -0.1f));
    }

    /// <summary>Both CPU workers sum each column in the portable kernels' order: the results agree to the bit.</summary>
    [Test]
    public void CpuWorkersMatchThePortableKernelsBitForBit()
    {
        RequireVariant(KernelVariant.CpuWorker);
        const int rows = 128, cols = 301;
        const float slope = 0.2f;
        var rng = new Random(29);
        var y = TestData.Uniform(rng, rows * cols);
        var dy = TestData.Uniform(rng, rows * cols);
        (float[] Dz, float[] Sums, float[] PlainSums) Run(KernelVariant variant)
        {
            using var ys = TestData.Upload(Device, y);
            using var dys = TestData.Upload(Device, dy);
            using var dbias = TestData.Poisoned(Device, cols);
            using var plain = TestData.Poisoned(Device, cols);
            For(variant).Backward(dys.View, plain.View, rows, cols);
            For(variant).BackwardThroughLeakyRelu(ys.View, dys.View, dbias.View, rows, cols, slope);
            return (TestData.Download(dys, rows * cols), TestData.Download(dbias, cols), TestData.Download(plain, cols));
        }
        var (portable, worker) = (Run(KernelVariant.Portable), Run(KernelVariant.CpuWorker));
        Assert.That(worker.Dz, Is.EqualTo(portable.Dz), "dz");
        Assert.That(worker.Sums, Is.EqualTo(portable.Sums), "dbias through the LeakyReLU");
        Assert.That(worker.PlainSums, Is.EqualTo(portable.PlainSums), "dbias");
    }
}

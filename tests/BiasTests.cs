using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class BiasTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    Bias For(KernelVariant variant) => ForVariant(variant, (device, v) => new Bias(device, v));

    /// <summary>
    /// The odd shapes; one wide enough that every CPU worker has whole vectors and a tail is left; and one whose
    /// 257 rows leave a GPU group's 32 lanes uneven and whose 301 columns fill no whole tile of 8.
    /// </summary>
    public static IEnumerable<object[]> Shapes() =>
        from shape in (from rows in TestData.OddSizes from cols in TestData.OddSizes select (rows, cols))
            .Append((rows: 33, cols: 301)).Append((rows: 257, cols: 301))
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

    /// <summary>
    /// Both CPU workers sum each column's rows in row order, as the scalar loop below does: the CPU accelerator's
    /// results must not move when the portable kernel changes its order.
    /// </summary>
    [Test]
    public void CpuWorkersSumEachColumnInRowOrder()
    {
        RequireVariant(KernelVariant.CpuWorker);
        const int rows = 128, cols = 301;
        const float slope = 0.2f;
        var rng = new Random(29);
        var y = TestData.Uniform(rng, rows * cols);
        var dy = TestData.Uniform(rng, rows * cols);
        var (_, sums, plainSums) = Run(For(KernelVariant.CpuWorker), y, dy, rows, cols, slope);
        for (int c = 0; c < cols; c++)
        {
            float plain = 0f, through = 0f;
            for (int r = 0; r < rows; r++)
            {
                float g = dy[r * cols + c];
                plain += g;
                through += y[r * cols + c] > 0f ? g : slope * g;
            }
            Assert.That(plainSums[c], Is.EqualTo(plain), $"dbias[{c}]");
            Assert.That(sums[c], Is.EqualTo(through), $"dbias through the LeakyReLU[{c}]");
        }
    }

    /// <summary>The portable kernel's lanes meet in a tree of fixed order: the same bits at every launch.</summary>
    [Test]
    public void PortableKernelGivesTheSameBitsAtEveryLaunch()
    {
        const int rows = 257, cols = 301;
        var rng = new Random(37);
        var y = TestData.Uniform(rng, rows * cols);
        var dy = TestData.Uniform(rng, rows * cols);
        var first = Run(For(KernelVariant.Portable), y, dy, rows, cols, 0.2f);
        var second = Run(For(KernelVariant.Portable), y, dy, rows, cols, 0.2f);
        Assert.That(second.Dz, Is.EqualTo(first.Dz), "dz");
        Assert.That(second.Sums, Is.EqualTo(first.Sums), "dbias through the LeakyReLU");
        Assert.That(second.PlainSums, Is.EqualTo(first.PlainSums), "dbias");
    }

    /// <summary>Both backward kernels on fresh copies of y and dy: dz, its column sums, and dy's column sums.</summary>
    (float[] Dz, float[] Sums, float[] PlainSums) Run(Bias bias, float[] y, float[] dy, int rows, int cols, float slope)
    {
        using var ys = TestData.Upload(Device, y);
        using var dys = TestData.Upload(Device, dy);
        using var dbias = TestData.Poisoned(Device, cols);
        using var plain = TestData.Poisoned(Device, cols);
        bias.Backward(dys.View, plain.View, rows, cols);
        bias.BackwardThroughLeakyRelu(ys.View, dys.View, dbias.View, rows, cols, slope);
        return (TestData.Download(dys, rows * cols), TestData.Download(dbias, cols), TestData.Download(plain, cols));
    }
}

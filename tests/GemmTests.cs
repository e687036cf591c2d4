using System.Runtime.Intrinsics;
using ILGPU;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class GemmTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    /// <summary>One implementation under test: the portable kernel with one of its tiles, or the CPU worker at one SIMD width.</summary>
    public sealed record GemmKind(KernelVariant Variant, int CpuVectorBits, GemmTile Tile = GemmTile.Auto)
    {
        public override string ToString() => Variant == KernelVariant.CpuWorker ? $"CpuWorker{CpuVectorBits}" : $"{Variant}{Tile}";
    }

    /// <summary>
    /// Both portable kernels (a GPU chooses by shape, so each is forced here), and the CPU worker's tile code at
    /// either width, each where this CPU accelerates it.
    /// </summary>
    public static readonly GemmKind[] Kinds =
    [
        new(KernelVariant.Portable, 0, GemmTile.Large), new(KernelVariant.Portable, 0, GemmTile.Small),
        new(KernelVariant.CpuWorker, 256), new(KernelVariant.CpuWorker, 512),
    ];

    static readonly GemmKind CpuWorker = Vector512.IsHardwareAccelerated ? Kinds[3] : Kinds[2];

    readonly Dictionary<GemmKind, Gemm> gemms = [];

    Gemm For(GemmKind kind)
    {
        RequireVariant(kind.Variant);
        if (kind.CpuVectorBits == 512 && !Vector512.IsHardwareAccelerated) Assert.Ignore("this CPU does not accelerate Vector512");
        if (!gemms.TryGetValue(kind, out var gemm))
            gemms[kind] = gemm = new Gemm(Device, kind.Variant, kind.Variant == KernelVariant.CpuWorker ? kind.CpuVectorBits : null, kind.Tile);
        return gemm;
    }

    [OneTimeTearDown]
    public void DisposeGemms()
    {
        foreach (var gemm in gemms.Values) gemm.Dispose();
    }

    /// <summary>
    /// Every (m, n, k) from the odd sizes for the CPU worker. The portable kernel runs 2-thread groups with a barrier per k step
    /// on the CPU accelerator, so it gets the ten shapes that put every size in every position twice.
    /// </summary>
    static IEnumerable<(int M, int N, int K)> Shapes(KernelVariant variant)
    {
        var sizes = TestData.OddSizes;
        if (variant == KernelVariant.CpuWorker)
            return from m in sizes from n in sizes from k in sizes select (m, n, k);
        return Enumerable.Range(0, sizes.Length).SelectMany(i => new[]
        {
            (sizes[i], sizes[(i + 1) % sizes.Length], sizes[(i + 2) % sizes.Length]),
            (sizes[i], sizes[(i + 2) % sizes.Length], sizes[(i + 1) % sizes.Length]),
        });
    }

    [Test]
    public void MatchesReferenceAtOddSizes([ValueSource(nameof(Kinds))] GemmKind kind,
                                           [Values] bool transposeA, [Values] bool transposeB)
    {
        var gemm = For(kind);
        foreach (var (m, n, k) in Shapes(kind.Variant))
            foreach (bool withBias in new[] { false, true })
                CheckMultiply(gemm, m, n, k, transposeA, transposeB, withBias);
    }

    /// <summary>The LeakyReLU epilogue, with and without the bias, at the odd sizes.</summary>
    [Test]
    public void AppliesLeakyReluInTheEpilogue([ValueSource(nameof(Kinds))] GemmKind kind,
                                              [Values] bool transposeA, [Values] bool transposeB)
    {
        var gemm = For(kind);
        foreach (var (m, n, k) in Shapes(KernelVariant.Portable))
            foreach (bool withBias in new[] { false, true })
                CheckMultiply(gemm, m, n, k, transposeA, transposeB, withBias, LeakySlope);
    }

    /// <summary>
    /// LeakyReLU's backward in the epilogue, gated by an activated output (with zeros, where the slope applies),
    /// at the odd sizes and across the CPU worker's blocks and the portable kernel's tiles and slices.
    /// </summary>
    [Test]
    public void AppliesLeakyReluBackwardInTheEpilogue([ValueSource(nameof(Kinds))] GemmKind kind,
                                                      [Values] bool transposeA, [Values] bool transposeB)
    {
        var gemm = For(kind);
        var shapes = Shapes(KernelVariant.Portable)
            .Append(kind.Variant == KernelVariant.CpuWorker ? (301, 590, 520) : (130, 70, 222));
        foreach (var (m, n, k) in shapes)
            CheckMultiply(gemm, m, n, k, transposeA, transposeB, withBias: false, LeakySlope, gated: true);
    }

    /// <summary>
    /// The gated epilogue is bit for bit the multiply followed by <see cref="Activations.LeakyReluBackward"/>, the
    /// two launches it replaces in a Linear's backward (on the CPU worker, at a shape with edge tiles, and on the
    /// portable kernel).
    /// </summary>
    [Test]
    public void GatedEpilogueEqualsTheMultiplyAndLeakyReluBackwardBitForBit([ValueSource(nameof(Kinds))] GemmKind kind)
    {
        const int m = 37, n = 45, k = 70;
        var gemm = For(kind);
        var activations = new Activations(Device, kind.Variant);
        var rng = new Random(5);
        var dy = TestData.Uniform(rng, m * k);
        var w = TestData.Uniform(rng, k * n);
        var gate = Gate(rng, m * n);
        using var dyBuffer = TestData.Upload(Device, dy);
        using var wBuffer = TestData.Upload(Device, w);
        using var gateBuffer = TestData.Upload(Device, gate);
        using var fused = TestData.Poisoned(Device, m * n);
        using var separate = TestData.Poisoned(Device, m * n);

        gemm.Multiply(dyBuffer.View, false, wBuffer.View, false, fused.View, m, n, k, leakyReluSlope: LeakySlope,
            leakyReluOutput: gateBuffer.View);
        gemm.Multiply(dyBuffer.View, false, wBuffer.View, false, separate.View, m, n, k);
        activations.LeakyReluBackward(gateBuffer.View, separate.View, separate.View, m * n, LeakySlope);

        Assert.That(TestData.Download(fused, m * n), Is.EqualTo(TestData.Download(separate, m * n)));
    }

    /// <summary>
    /// The row sums of op(A) beside the multiply (a Linear's bias gradient in its weight gradient's launch), at the
    /// odd sizes and across blocks, tiles and slices: the portable kernel's column of ones past C's edge, whether
    /// that column falls inside C's last tile of columns or in a tile of its own.
    /// </summary>
    [Test]
    public void SumsTheRowsOfOpABesideTheMultiply([ValueSource(nameof(Kinds))] GemmKind kind,
                                                  [Values] bool transposeA, [Values] bool transposeB)
    {
        var gemm = For(kind);
        var shapes = Shapes(KernelVariant.Portable)
            .Append(kind.Variant == KernelVariant.CpuWorker ? (301, 590, 520) : (130, 70, 222))
            .Append((33, 64, 65)).Append((7, 16, 3));
        foreach (var (m, n, k) in shapes)
            CheckMultiply(gemm, m, n, k, transposeA, transposeB, withBias: false, sumRows: true);
    }

    /// <summary>
    /// The CPU worker's row sums of dYᵀ are bit for bit the bias gradient's CPU worker's column sums of dY, the
    /// launch they replace (a width that is a multiple of no vector).
    /// </summary>
    [Test]
    public void CpuWorkerRowSumsEqualTheBiasGradientBitForBit([Values(256, 512)] int vectorBits)
    {
        var gemm = For(Kinds.First(k => k.Variant == KernelVariant.CpuWorker && k.CpuVectorBits == vectorBits));
        const int rows = 131, outputs = 45, inputs = 29;
        var rng = new Random(9);
        var dy = TestData.Uniform(rng, rows * outputs);
        var x = TestData.Uniform(rng, rows * inputs);
        using var dyBuffer = TestData.Upload(Device, dy);
        using var xBuffer = TestData.Upload(Device, x);
        using var dw = TestData.Poisoned(Device, outputs * inputs);
        using var fused = TestData.Poisoned(Device, outputs);
        using var separate = TestData.Poisoned(Device, outputs);

        gemm.Multiply(dyBuffer.View, true, xBuffer.View, false, dw.View, outputs, inputs, rows, rowSums: fused.View);
        new Bias(Device, KernelVariant.CpuWorker).Backward(dyBuffer.View, separate.View, rows, outputs);

        Assert.That(TestData.Download(fused, outputs), Is.EqualTo(TestData.Download(separate, outputs)));
    }

    /// <summary>An activated output's values: uniform in [−1, 1], every seventh exactly zero (LeakyReLU's kink).</summary>
    static float[] Gate(Random rng, int count) =>
        TestData.Uniform(rng, count).Select((v, i) => i % 7 == 3 ? 0f : v).ToArray();

    /// <summary>
    /// Shapes past the CPU worker's 132×(16·SIMD width) blocks and 256-deep k slices (the bias must be added once
    /// and the activation only to the finished sum, every worker gets several column blocks) and past the portable
    /// kernel's 64×64 and 32×32 tiles on a GPU, through seven of its 32-deep slices (an odd count: the last lands in
    /// the first of its two shared buffers), with partial blocks and tiles at every edge (301 rows: the last row
    /// block ends in a partial panel of op(A)).
    /// </summary>
    [Test]
    public void MatchesReferenceAcrossBlocks([ValueSource(nameof(Kinds))] GemmKind kind,
                                             [Values] bool transposeA, [Values] bool transposeB, [Values] bool activate)
    {
        var (m, n, k) = kind.Variant == KernelVariant.CpuWorker ? (301, 590, 520) : (130, 70, 222);
        CheckMultiply(For(kind), m, n, k, transposeA, transposeB, withBias: true, activate ? LeakySlope : null);
    }

    /// <summary>The three multiplies of a 784→1024 Linear layer at batch 128, as the model issues them.</summary>
    [TestCase("forward")]
    [TestCase("input_grad")]
    [TestCase("weight_grad")]
    public void MatchesReferenceAtModelShape(string use)
    {
        var gemm = For(CpuWorker);
        const int batch = 128, inputs = 784, outputs = 1024;
        switch (use)
        {
            case "forward": CheckMultiply(gemm, batch, outputs, inputs, false, true, withBias: true); break;
            case "input_grad": CheckMultiply(gemm, batch, inputs, outputs, false, false, withBias: false); break;
            case "weight_grad": CheckMultiply(gemm, outputs, inputs, batch, true, false, withBias: false); break;
        }
    }

    /// <summary>
    /// Operands as views into the middle of larger buffers, as the model's parameter slices are: offsets must be
    /// honoured, and nothing outside C may be written.
    /// </summary>
    [Test]
    public void HonoursViewOffsetsAndWritesOnlyC([ValueSource(nameof(Kinds))] GemmKind kind)
    {
        const int m = 33, n = 7, k = 100, offset = 5, guard = 9;
        const float sentinel = 12345f;
        var gemm = For(kind);
        var rng = new Random(11);
        var a = TestData.Uniform(rng, m * k);
        var b = TestData.Uniform(rng, k * n);
        var bias = TestData.Uniform(rng, n);
        float[] Embedded(float[] values) => [.. TestData.Uniform(rng, offset), .. values, .. TestData.Uniform(rng, guard)];
        var cWithGuards = Enumerable.Repeat(sentinel, offset).Concat(Enumerable.Repeat(float.NaN, m * n))
            .Concat(Enumerable.Repeat(sentinel, guard)).ToArray();
        using var aBuffer = TestData.Upload(Device, Embedded(a));
        using var bBuffer = TestData.Upload(Device, Embedded(b));
        using var biasBuffer = TestData.Upload(Device, Embedded(bias));
        using var cBuffer = TestData.Upload(Device, cWithGuards);

        gemm.Multiply(aBuffer.View.SubView(offset, m * k), false, bBuffer.View.SubView(offset, k * n), true,
            cBuffer.View.SubView(offset, m * n), m, n, k, bias: biasBuffer.View.SubView(offset, n));

        var c = TestData.Download(cBuffer, cWithGuards.Length);
        Assert.That(c[..offset].Concat(c[^guard..]), Is.All.EqualTo(sentinel), "elements around C");
        TestData.AssertClose(Reference(a, false, b, true, m, n, k, bias), c[offset..^guard], 0, Tolerance(k), "C");
    }

    [Test]
    public void AutoPicksTheVariantForTheDevice()
    {
        using var gemm = new Gemm(Device);
        Assert.That(gemm.Variant, Is.EqualTo(Device.IsCpu ? KernelVariant.CpuWorker : KernelVariant.Portable));
        Assert.That(gemm.CpuVectorBits, Is.EqualTo(Device.IsCpu ? CpuWorker.CpuVectorBits : 0), "the widest vectors this CPU accelerates");
    }

    [Test]
    public void RejectsViewsTooShortForTheShape()
    {
        using var gemm = new Gemm(Device);
        using var buffer = TestData.Upload(Device, new float[20]);
        Assert.Throws<ArgumentException>(() => gemm.Multiply(buffer.View, false, buffer.View, false, buffer.View, 4, 4, 6));
    }

    [Test]
    public void RejectsGatesAndRowSumsTooShortOrWithABiasOrActivation()
    {
        using var gemm = new Gemm(Device);
        using var buffer = TestData.Upload(Device, new float[20]);
        var v = buffer.View;
        Assert.Throws<ArgumentException>(() => gemm.Multiply(v, false, v, false, v, 4, 4, 4, leakyReluSlope: 0.2f, leakyReluOutput: v.SubView(0, 15)));
        Assert.Throws<ArgumentException>(() => gemm.Multiply(v, false, v, false, v, 4, 4, 4, leakyReluOutput: v));
        Assert.Throws<ArgumentException>(() => gemm.Multiply(v, false, v, false, v, 4, 4, 4, bias: v, leakyReluSlope: 0.2f, leakyReluOutput: v));
        Assert.Throws<ArgumentException>(() => gemm.Multiply(v, true, v, false, v, 4, 4, 4, rowSums: v.SubView(0, 3)));
        Assert.Throws<ArgumentException>(() => gemm.Multiply(v, true, v, false, v, 4, 4, 4, bias: v, rowSums: v));
        Assert.Throws<ArgumentException>(() => gemm.Multiply(v, true, v, false, v, 4, 4, 4, leakyReluSlope: 0.2f, rowSums: v));
    }

    /// <summary>
    /// Rounding error of a float sum of k products of values in [−1, 1] grows like √k (measured: at most 3.3e-6
    /// at k = 1024); 1e-5·√k leaves 10× room and still fails on any one missing or doubled product above 3e-4.
    /// </summary>
    static double Tolerance(int k) => 1e-5 * Math.Sqrt(k);

    const float LeakySlope = 0.2f;

    /// <summary>
    /// One multiply against the float64 reference, into a C full of NaN: every element must be written. Gated:
    /// the epilogue is LeakyReLU's backward at a random activated output.
    /// </summary>
    void CheckMultiply(Gemm gemm, int m, int n, int k, bool transposeA, bool transposeB, bool withBias,
                       float? leakyReluSlope = null, bool gated = false, bool sumRows = false)
    {
        var rng = new Random(((m * 131 + n) * 131 + k) * 8 + (transposeA ? 4 : 0) + (transposeB ? 2 : 0) + (withBias ? 1 : 0));
        var a = TestData.Uniform(rng, m * k);
        var b = TestData.Uniform(rng, k * n);
        var bias = withBias ? TestData.Uniform(rng, n) : [];
        var gate = gated ? Gate(rng, m * n) : [];
        using var aBuffer = TestData.Upload(Device, a);
        using var bBuffer = TestData.Upload(Device, b);
        using var biasBuffer = TestData.Upload(Device, bias);
        using var gateBuffer = TestData.Upload(Device, gate);
        using var cBuffer = TestData.Poisoned(Device, m * n);
        using var sumsBuffer = TestData.Poisoned(Device, m);

        ArrayView<float> biasView = withBias ? biasBuffer.View : default;
        ArrayView<float> gateView = gated ? gateBuffer.View : default;
        gemm.Multiply(aBuffer.View, transposeA, bBuffer.View, transposeB, cBuffer.View, m, n, k, biasView, leakyReluSlope,
            gateView, sumRows ? sumsBuffer.View : default);
        if (sumRows)
        {
            var sums = Enumerable.Range(0, m)
                .Select(i => Enumerable.Range(0, k).Sum(p => (double)a[transposeA ? p * m + i : i * k + p])).ToArray();
            TestData.AssertClose(sums, TestData.Download(sumsBuffer, m), 0, Tolerance(k),
                $"{gemm.Variant}{gemm.CpuVectorBits} row sums of op(A)[{m}x{k}] n={n} transposeA={transposeA} transposeB={transposeB}");
        }

        var expected = Reference(a, transposeA, b, transposeB, m, n, k, bias);
        if (leakyReluSlope is { } slope)
            expected = expected.Select((v, i) => (gated ? gate[i] : v) > 0 ? v : slope * v).ToArray();
        TestData.AssertClose(expected, TestData.Download(cBuffer, m * n), 0, Tolerance(k),
            $"{gemm.Variant}{gemm.CpuVectorBits} C[{m}x{n}] k={k} transposeA={transposeA} transposeB={transposeB} bias={withBias} slope={leakyReluSlope} gated={gated}");
    }

    static double[] Reference(float[] a, bool transposeA, float[] b, bool transposeB, int m, int n, int k, float[] bias)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = bias.Length > 0 ? bias[j] : 0;
                for (int p = 0; p < k; p++)
                    sum += (double)a[transposeA ? p * m + i : i * k + p] * b[transposeB ? j * k + p : p * n + j];
                c[i * n + j] = sum;
            }
        }
        return c;
    }
}

/// <summary>Which portable kernel a multiply gets on a GPU, and the groups it launches there.</summary>
public sealed class GemmTileChoiceTests
{
    const int H100Multiprocessors = 132;

    /// <summary>
    /// G's 512→1024 forward at batch 128 is 2×16 large tiles, a quarter of an H100: it gets the small tile's 128
    /// groups; so does G's 512→1024 weight gradient, 16×8 large tiles, four short of 132. G's 1024→784 weight
    /// gradient, 16×13 large tiles, fills the GPU with the large tile.
    /// </summary>
    [TestCase(128, 1024, GemmTile.Small, 128)]
    [TestCase(256, 256, GemmTile.Small, 64)]
    [TestCase(128, 1, GemmTile.Small, 4)]
    [TestCase(1024, 512, GemmTile.Small, 512)]
    [TestCase(1024, 784, GemmTile.Large, 208)]
    [TestCase(4096, 4096, GemmTile.Large, 4096)]
    public void ChoosesTheSmallTileWhereTheLargeLeavesMultiprocessorsIdle(int m, int n, GemmTile expected, long groups)
    {
        var tile = Gemm.ChooseTile(m, n, H100Multiprocessors);
        Assert.That(tile, Is.EqualTo(expected));
        Assert.That(Gemm.GpuGroups(tile, m, n), Is.EqualTo(groups));
    }

    [Test]
    public void CountsGroupsOfEitherTileOverPartialEdges()
    {
        Assert.That(Gemm.GpuGroups(GemmTile.Large, 65, 64), Is.EqualTo(2));
        Assert.That(Gemm.GpuGroups(GemmTile.Small, 65, 64), Is.EqualTo(6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.GpuGroups(GemmTile.Auto, 1, 1));
    }
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class BceTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const int Slots = 4;
    const int LossSlot = 2;
    const int MeanSlot = 1;

    Bce ops = null!;

    [OneTimeSetUp]
    public void LoadKernels() => ops = new Bce(Device);

    public static IEnumerable<object[]> Cases() =>
        from n in TestData.OddSizes
        from target in new[] { 0f, 1f }
        from sign in new[] { 1f, -1f }
        select new object[] { n, target, sign };

    /// <summary>PyTorch 1.13's formulas in float64: each log clamped at −100, p·(1−p) floored at 1e-12.</summary>
    static (double Loss, double[] Dp) Reference(float[] p, double target, double sign)
    {
        int n = p.Length;
        double loss = 0;
        var dp = new double[n];
        for (int i = 0; i < n; i++)
        {
            double pi = p[i];
            loss -= target * Math.Max(Math.Log(pi), -100) + (1 - target) * Math.Max(Math.Log(1 - pi), -100);
            dp[i] = sign * (pi - target) / Math.Max(pi * (1 - pi), 1e-12) / n;
        }
        return (sign * loss / n, dp);
    }

    /// <summary>Runs the kernel once; returns dp and the sums buffer after it.</summary>
    (float[] Dp, float[] Sums) Run(float[] p, float target, float sign, float[] sumsBefore)
    {
        int n = p.Length;
        using var ps = TestData.Upload(Device, p);
        using var dps = TestData.Poisoned(Device, n);
        using var sums = TestData.Upload(Device, sumsBefore);
        ops.LossAndGradient(ps.View, dps.View, n, target, sign, sums.View, LossSlot, MeanSlot);
        return (TestData.Download(dps, n), TestData.Download(sums, Slots));
    }

    /// <summary>sums starts random, so a kernel that overwrites instead of adding fails, as does one touching other slots.</summary>
    static void AssertSums(float[] before, double loss, double meanP, float[] after)
    {
        var expected = TestData.ToDouble(before);
        expected[LossSlot] += loss;
        expected[MeanSlot] += meanP;
        // A float sum of n losses, each up to 100 at the clamp: relative error of a few float ulps.
        TestData.AssertClose(expected, after, 1e-5, 1e-6, "sums");
    }

    [TestCaseSource(nameof(Cases))]
    public void LossAndGradientMatchReference(int n, float target, float sign)
    {
        var rng = new Random(n * 4 + (int)target * 2 + (sign > 0 ? 1 : 0));
        var p = TestData.Uniform(rng, n, 0.001f, 0.999f);
        var sumsBefore = TestData.Uniform(rng, Slots, -5f, 5f);

        var (dp, sums) = Run(p, target, sign, sumsBefore);

        var (loss, expectedDp) = Reference(p, target, sign);
        TestData.AssertClose(expectedDp, dp, 1e-6, 0, "dp");
        AssertSums(sumsBefore, loss, p.Average(v => (double)v), sums);
    }

    /// <summary>
    /// Probabilities at and near 0 and 1, where the −100 log clamp and the 1e-12 gradient floor decide the
    /// result: 1e-45 (its log is −103), 1e-13 (p·(1−p) below 1e-12), 1−1e-8 (which is 1 in float). The expected
    /// numbers are PyTorch 1.13's own (torch.nn.functional.binary_cross_entropy on CPU, float32).
    /// </summary>
    [TestCase(0f, 27.124025344848633, new[] { 0.0, 1.7516230732313732e-34, 1.2500000572671312e-19, 0.012500000186264515,
        0.1785714328289032, 2097152.0, 124999999488.0, 124999999488.0 })]
    [TestCase(1f, 37.52688980102539, new[] { -124999999488.0, -124999999488.0, -124999999488.0, -124999999488.0,
        -0.4166666567325592, -0.1250000149011612, 0.0, 0.0 })]
    public void ClampAndEpsilonMatchPyTorch(float target, double torchLoss, double[] torchDp)
    {
        float[] p = [0f, 1e-45f, 1e-30f, 1e-13f, 0.3f, 0.99999994f, (float)(1 - 1e-8), 1f];
        float[] sumsBefore = [0.5f, -0.25f, 1.5f, 2f];

        var (dp, sums) = Run(p, target, 1f, sumsBefore);

        // The reference agrees with PyTorch, so the kernel is held to both. atol covers 1e-45·… = 1.75e-34,
        // which a GPU flushing subnormals to zero writes as 0.
        var (loss, expectedDp) = Reference(p, target, 1);
        Assert.That(loss, Is.EqualTo(torchLoss).Within(1e-6 * torchLoss), "reference loss against PyTorch");
        TestData.AssertClose(torchDp, Array.ConvertAll(expectedDp, v => (float)v), 1e-6, 1e-30, "reference dp against PyTorch");
        TestData.AssertClose(torchDp, dp, 1e-6, 1e-30, "dp");
        AssertSums(sumsBefore, torchLoss, 0.4124999940395355, sums);
    }

    /// <summary>The gradient against central differences of the loss the kernel itself adds to sums.</summary>
    [TestCase(0f, 1f)]
    [TestCase(1f, 1f)]
    [TestCase(0f, -1f)]
    [TestCase(1f, -1f)]
    public void GradientMatchesFiniteDifferences(float target, float sign)
    {
        const int n = 7;
        const float h = 1e-3f;
        var p = TestData.Uniform(new Random(11), n, 0.1f, 0.9f);
        var zeros = new float[Slots];

        var expected = FiniteDifference.Gradient(p, h, values => Run(values, target, sign, zeros).Sums[LossSlot]);

        // Float rounding of a loss near 1 over a step of 2e-3 leaves ~3e-5; truncation (h²/6)·|L'''| stays below it.
        TestData.AssertClose(expected, Run(p, target, sign, zeros).Dp, 2e-3, 2e-4, "dp");
    }

    /// <summary>dp written over p itself: each thread reads its items before it writes their gradient, so the same results.</summary>
    [TestCase(127)]
    [TestCase(1000)]
    public void GradientMayOverwriteTheProbabilities(int n)
    {
        var rng = new Random(n + 5);
        var p = TestData.Uniform(rng, n, 0.001f, 0.999f);
        var sumsBefore = TestData.Uniform(rng, Slots, -5f, 5f);
        var (dp, sums) = Run(p, 1f, 1f, sumsBefore);
        using var ps = TestData.Upload(Device, p);
        using var inPlaceSums = TestData.Upload(Device, sumsBefore);
        ops.LossAndGradient(ps.View, ps.View, n, 1f, 1f, inPlaceSums.View, LossSlot, MeanSlot);
        Assert.That(TestData.Download(ps, n), Is.EqualTo(dp), "dp");
        Assert.That(TestData.Download(inPlaceSums, Slots), Is.EqualTo(sums), "sums");
    }

    public static IEnumerable<object[]> SigmoidCases() =>
        from n in new[] { 2, 14, 66, 254 }
        from sign in new[] { 1f, -1f }
        select new object[] { n, sign };

    /// <summary>
    /// The sigmoid and the BCE of two parts with their own targets (D's real half at 0.9, its fake half at 0) in one
    /// launch, against float64: p = σ(z), the loss and mean p of each part added to their slots, dz = σ'(z)·dL/dp.
    /// The logits reach ±20, where p·(1−p) is near the gradient floor.
    /// </summary>
    [TestCaseSource(nameof(SigmoidCases))]
    public void SigmoidLossAndGradientMatchReference(int n, float sign)
    {
        var rng = new Random(n * 2 + (sign > 0 ? 1 : 0));
        var z = TestData.Uniform(rng, n, -20f, 20f);
        var sumsBefore = TestData.Uniform(rng, Slots, -5f, 5f);
        int split = n / 2;
        using var zs = TestData.Upload(Device, z);
        using var dz = TestData.Poisoned(Device, n);
        using var sums = TestData.Upload(Device, sumsBefore);
        ops.SigmoidLossAndGradient(zs.View, dz.View, n, split, 0.9f, 0f, sign, sums.View, LossSlot, MeanSlot, 3);

        var expected = TestData.ToDouble(sumsBefore);
        var expectedDz = new double[n];
        foreach (var (begin, end, target, slot) in new[] { (0, split, (double)0.9f, MeanSlot), (split, n, 0.0, 3) })
        {
            // torch.sigmoid's float formula: 1 + e^−z rounds to 1 for z ≳ 16.6, where p is then exactly 1.
            var p = z[begin..end].Select(v => 1f / (1f + MathF.Exp(-v))).ToArray();
            var (loss, dp) = Reference(p, target, sign);
            expected[LossSlot] += loss;
            expected[slot] += p.Average(v => (double)v);
            for (int i = begin; i < end; i++) expectedDz[i] = dp[i - begin] * p[i - begin] * (1 - p[i - begin]);
        }
        TestData.AssertClose(expectedDz, TestData.Download(dz, n), 1e-5, 1e-12, "dz");
        TestData.AssertClose(expected, TestData.Download(sums, Slots), 1e-5, 1e-6, "sums");
    }

    /// <summary>
    /// The one launch against the launches it replaced in D's step: sigmoid forward, BCE on each half, sigmoid
    /// backward. The same float operations per element, so dz to the bit; the sums in another grouping of lanes.
    /// </summary>
    [Test]
    public void SigmoidLossAndGradientMatchTheLaunchesItReplaces()
    {
        const int n = 254, split = 127;
        var rng = new Random(41);
        var z = TestData.Uniform(rng, n, -8f, 8f);
        var sumsBefore = TestData.Uniform(rng, Slots, -5f, 5f);
        using var zs = TestData.Upload(Device, z);
        using var fusedDz = TestData.Poisoned(Device, n);
        using var fusedSums = TestData.Upload(Device, sumsBefore);
        ops.SigmoidLossAndGradient(zs.View, fusedDz.View, n, split, 0.9f, 0f, 1f, fusedSums.View, LossSlot, MeanSlot, 3);

        var activations = new Activations(Device);
        using var p = TestData.Poisoned(Device, n);
        using var dp = TestData.Poisoned(Device, n);
        using var dz = TestData.Poisoned(Device, n);
        using var sums = TestData.Upload(Device, sumsBefore);
        activations.SigmoidForward(zs.View, p.View, n);
        ops.LossAndGradient(p.View.SubView(0, split), dp.View.SubView(0, split), split, 0.9f, 1f, sums.View, LossSlot, MeanSlot);
        ops.LossAndGradient(p.View.SubView(split, n - split), dp.View.SubView(split, n - split), n - split, 0f, 1f, sums.View,
            LossSlot, 3);
        activations.SigmoidBackward(p.View, dp.View, dz.View, n);

        Assert.That(TestData.Download(fusedDz, n), Is.EqualTo(TestData.Download(dz, n)), "dz");
        TestData.AssertClose(TestData.ToDouble(TestData.Download(sums, Slots)), TestData.Download(fusedSums, Slots), 1e-6, 1e-7, "sums");
    }

    /// <summary>
    /// The input gradient of the Linear that makes the logits, written by the loss's launch: against the multiply it
    /// replaces (dLogits·w over a depth of one, with LeakyReLU's backward at the gate in its epilogue) to the bit, and
    /// against float64. Odd sizes, a poisoned output, gates of both signs.
    /// </summary>
    [TestCase(7, 33, true)]
    [TestCase(7, 33, false)]
    [TestCase(127, 1, true)]
    [TestCase(100, 129, false)]
    public void LogitLayerInputGradientMatchesTheMultiplyItReplaces(int n, int width, bool gated)
    {
        const float slope = 0.2f;
        var rng = new Random(n + width + (gated ? 1 : 0));
        int split = (n + 1) / 2;
        var z = TestData.Uniform(rng, n, -8f, 8f);
        var w = TestData.Uniform(rng, width);
        var h = TestData.Uniform(rng, n * width);
        var sumsBefore = TestData.Uniform(rng, Slots, -5f, 5f);
        using var zs = TestData.Upload(Device, z);
        using var ws = TestData.Upload(Device, w);
        using var hs = TestData.Upload(Device, h);
        using var fusedDz = TestData.Poisoned(Device, n);
        using var fusedDh = TestData.Poisoned(Device, n * width);
        using var fusedSums = TestData.Upload(Device, sumsBefore);
        var layer = gated ? new Bce.LogitLayer(ws.View, width, fusedDh.View, hs.View, slope) : new Bce.LogitLayer(ws.View, width, fusedDh.View);
        ops.SigmoidLossAndGradient(zs.View, fusedDz.View, n, split, 0.9f, 0f, 1f, fusedSums.View, LossSlot, MeanSlot, 3, layer);

        using var dz = TestData.Poisoned(Device, n);
        using var dh = TestData.Poisoned(Device, n * width);
        using var sums = TestData.Upload(Device, sumsBefore);
        ops.SigmoidLossAndGradient(zs.View, dz.View, n, split, 0.9f, 0f, 1f, sums.View, LossSlot, MeanSlot, 3);
        new Gemm(Device).Multiply(dz.View, false, ws.View, false, dh.View, n, width, 1, leakyReluSlope: gated ? slope : null,
            leakyReluOutput: gated ? hs.View : default);

        var dLogits = TestData.Download(dz, n);
        Assert.That(TestData.Download(fusedDz, n), Is.EqualTo(dLogits), "dLogits");
        Assert.That(TestData.Download(fusedSums, Slots), Is.EqualTo(TestData.Download(sums, Slots)), "sums");
        var fused = TestData.Download(fusedDh, n * width);
        Assert.That(fused, Is.EqualTo(TestData.Download(dh, n * width)), "dInput against the multiply");
        var expected = new double[n * width];
        for (int r = 0; r < n; r++)
            for (int j = 0; j < width; j++)
            {
                double d = (double)dLogits[r] * w[j];
                expected[r * width + j] = gated && !(h[r * width + j] > 0) ? slope * d : d;
            }
        TestData.AssertClose(expected, fused, 1e-6, 1e-30, "dInput against float64");
    }

    [Test]
    public void LogitLayerRefusesShortViews()
    {
        using var buffer = TestData.Poisoned(Device, 8);
        using var small = TestData.Poisoned(Device, 3);
        Assert.Throws<ArgumentException>(() => ops.SigmoidLossAndGradient(buffer.View, buffer.View, 4, 2, 1f, 0f, 1f, buffer.View,
            0, 1, 2, new Bce.LogitLayer(buffer.View, 2, small.View)));
        Assert.Throws<ArgumentException>(() => ops.SigmoidLossAndGradient(buffer.View, buffer.View, 4, 2, 1f, 0f, 1f, buffer.View,
            0, 1, 2, new Bce.LogitLayer(buffer.View, 2, buffer.View, small.View, 0.2f)));
    }

    [Test]
    public void SigmoidLossAndGradientRefusesAnEmptyFirstPart()
    {
        using var buffer = TestData.Poisoned(Device, 4);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            ops.SigmoidLossAndGradient(buffer.View, buffer.View, 4, 0, 1f, 0f, 1f, buffer.View, 0, 1, 2));
    }
}

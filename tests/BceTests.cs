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
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class SoftmaxCrossEntropyTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const int Slots = 3;
    const int LossSlot = 1;

    SoftmaxCrossEntropy ops = null!;

    [OneTimeSetUp]
    public void LoadKernels() => ops = new SoftmaxCrossEntropy(Device);

    public static IEnumerable<object[]> Cases() =>
        from rows in TestData.OddSizes
        from classes in new[] { 1, 3, 10, 33 }
        select new object[] { rows, classes };

    /// <summary>Rows that are distributions: one-hot for even rows, random mixtures for odd ones.</summary>
    static float[] Targets(Random rng, int rows, int classes)
    {
        var targets = new float[rows * classes];
        for (int r = 0; r < rows; r++)
        {
            if (r % 2 == 0)
            {
                targets[r * classes + rng.Next(classes)] = 1f;
                continue;
            }
            var weights = TestData.Uniform(rng, classes, 0.01f, 1f);
            float total = weights.Sum();
            for (int c = 0; c < classes; c++) targets[r * classes + c] = weights[c] / total;
        }
        return targets;
    }

    /// <summary>softmax in float64, shifted by the row maximum.</summary>
    static double[] Softmax(float[] logits, int rows, int classes)
    {
        var p = new double[rows * classes];
        for (int r = 0; r < rows; r++)
        {
            double max = Enumerable.Range(0, classes).Max(c => (double)logits[r * classes + c]);
            double sum = Enumerable.Range(0, classes).Sum(c => Math.Exp(logits[r * classes + c] - max));
            for (int c = 0; c < classes; c++) p[r * classes + c] = Math.Exp(logits[r * classes + c] - max) / sum;
        }
        return p;
    }

    static (double Loss, double[] Dz) Reference(float[] logits, float[] targets, int rows, int classes)
    {
        var p = Softmax(logits, rows, classes);
        double loss = 0;
        var dz = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            loss -= targets[i] * Math.Log(p[i]);
            dz[i] = (p[i] - targets[i]) / rows;
        }
        return (loss / rows, dz);
    }

    (float[] Dz, float[] Sums) Run(float[] logits, float[] targets, int rows, int classes, float[] sumsBefore)
    {
        using var zs = TestData.Upload(Device, logits);
        using var ts = TestData.Upload(Device, targets);
        using var dzs = TestData.Poisoned(Device, rows * classes);
        using var sums = TestData.Upload(Device, sumsBefore);
        ops.LossAndGradient(zs.View, ts.View, dzs.View, rows, classes, sums.View, LossSlot);
        return (TestData.Download(dzs, rows * classes), TestData.Download(sums, Slots));
    }

    [TestCaseSource(nameof(Cases))]
    public void LossAndGradientMatchReference(int rows, int classes)
    {
        var rng = new Random(rows * 100 + classes);
        // Logits far from 0 too: the shift by the row maximum must keep e^z from overflowing.
        var logits = TestData.Uniform(rng, rows * classes, -30f, 90f);
        var targets = Targets(rng, rows, classes);
        var sumsBefore = TestData.Uniform(rng, Slots, -5f, 5f);

        var (dz, sums) = Run(logits, targets, rows, classes, sumsBefore);

        var (loss, expectedDz) = Reference(logits, targets, rows, classes);
        TestData.AssertClose(expectedDz, dz, 1e-5, 1e-7 / rows, "dz");
        var expectedSums = TestData.ToDouble(sumsBefore);
        expectedSums[LossSlot] += loss;
        // Losses up to ~100 per row summed in float: a few ulps of the total.
        TestData.AssertClose(expectedSums, sums, 1e-5, 1e-5, "sums");
    }

    [TestCaseSource(nameof(Cases))]
    public void ProbabilitiesMatchReference(int rows, int classes)
    {
        var logits = TestData.Uniform(new Random(rows * 7 + classes), rows * classes, -30f, 90f);
        using var zs = TestData.Upload(Device, logits);
        using var ps = TestData.Poisoned(Device, rows * classes);

        ops.Probabilities(zs.View, ps.View, rows, classes);

        TestData.AssertClose(Softmax(logits, rows, classes), TestData.Download(ps, rows * classes), 1e-5, 1e-7, "p");
    }

    /// <summary>The gradient against central differences of the loss the kernel itself adds to sums.</summary>
    [TestCase(1, 10)]
    [TestCase(5, 3)]
    [TestCase(4, 10)]
    public void GradientMatchesFiniteDifferences(int rows, int classes)
    {
        const float h = 1e-2f;
        var rng = new Random(rows + 17 * classes);
        var logits = TestData.Uniform(rng, rows * classes, -2f, 2f);
        var targets = Targets(rng, rows, classes);
        var zeros = new float[Slots];

        var expected = FiniteDifference.Gradient(logits, h, values => Run(values, targets, rows, classes, zeros).Sums[LossSlot]);

        // A loss near 2 in float over a step of 2e-2: rounding ~1e-5; truncation (h²/6)·|L'''| ≤ 2e-5/rows.
        TestData.AssertClose(expected, Run(logits, targets, rows, classes, zeros).Dz, 1e-3, 1e-4, "dz");
    }
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class ExponentialAverageTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    ExponentialAverage For(KernelVariant variant) => ForVariant(variant, (device, v) => new ExponentialAverage(device, v));

    public static IEnumerable<TestCaseData> Cases() =>
        from variant in TestData.Variants
        from n in TestData.OddSizes
        from secondN in new[] { 0, 5 }
        from decay in new[] { 0.999, 0.3 }
        select new TestCaseData(n, secondN, decay, variant);

    /// <summary>
    /// Five updates of both tensors against decay·a + (1 − decay)·v in float64, with fresh values each time, so
    /// an element left unwritten keeps a stale average and fails. A decay below 0.5 takes lerp's other branch.
    /// The values are read only, and nothing past either average is written.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void UpdatesMatchFloat64Reference(int n, int secondN, double decay, KernelVariant variant)
    {
        const int slack = 3;
        var rng = new Random(n + 10 * secondN);
        var first = TestData.Uniform(rng, n + slack);
        var second = TestData.Uniform(rng, secondN + slack);
        using var firstBuffer = TestData.Upload(Device, first);
        using var secondBuffer = TestData.Upload(Device, second);
        var (first64, second64) = (TestData.ToDouble(first), TestData.ToDouble(second));

        for (int update = 0; update < 5; update++)
        {
            var value = TestData.Uniform(rng, n, -2f, 2f);
            var secondValue = TestData.Uniform(rng, secondN, 0.5f, 1.5f);
            using var values = TestData.Upload(Device, value);
            using var secondValues = TestData.Upload(Device, secondValue);

            For(variant).Update(firstBuffer.View.SubView(0, n), values.View, secondBuffer.View.SubView(0, secondN),
                secondValues.View, decay);

            for (int i = 0; i < n; i++) first64[i] = decay * first64[i] + (1 - decay) * value[i];
            for (int i = 0; i < secondN; i++) second64[i] = decay * second64[i] + (1 - decay) * secondValue[i];
            TestData.AssertClose(first64, TestData.Download(firstBuffer, n + slack), 1e-6, 1e-6, $"average after update {update}");
            TestData.AssertClose(second64, TestData.Download(secondBuffer, secondN + slack), 1e-6, 1e-6, $"second average after update {update}");
            Assert.That(TestData.Download(values, n), Is.EqualTo(value), "values are read only");
        }
    }

    [Test]
    public void DecayOutsideZeroToOneIsRejected()
    {
        using var buffer = TestData.Poisoned(Device, 4);
        Assert.That(() => For(KernelVariant.Auto).Update(buffer.View, buffer.View, buffer.View, buffer.View, 1.5),
            Throws.TypeOf<ArgumentOutOfRangeException>());
    }

    /// <summary>
    /// The CPU worker against the portable kernel over both tensors, sized so that each worker has whole vectors and
    /// the last a tail, for a decay on each side of lerp's branch: the averages agree to the bit.
    /// </summary>
    [TestCase(0.999)]
    [TestCase(0.3)]
    public void CpuWorkerMatchesThePortableKernelBitForBit(double decay)
    {
        RequireVariant(KernelVariant.CpuWorker);
        const int n = 1003, secondN = 37;
        var rng = new Random(47);
        var (first, second) = (TestData.Uniform(rng, n), TestData.Uniform(rng, secondN));
        var (value, secondValue) = (TestData.Uniform(rng, n, -2f, 2f), TestData.Uniform(rng, secondN));
        float[][] Run(KernelVariant variant)
        {
            using var averages = TestData.Upload(Device, first);
            using var secondAverages = TestData.Upload(Device, second);
            using var values = TestData.Upload(Device, value);
            using var secondValues = TestData.Upload(Device, secondValue);
            for (int update = 0; update < 3; update++)
                For(variant).Update(averages.View, values.View, secondAverages.View, secondValues.View, decay);
            return [TestData.Download(averages, n), TestData.Download(secondAverages, secondN)];
        }
        Assert.That(Run(KernelVariant.CpuWorker), Is.EqualTo(Run(KernelVariant.Portable)));
    }
}

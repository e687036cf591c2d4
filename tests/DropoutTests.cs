using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Tests;

public sealed class DropoutTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const ulong Seed = 0x243F6A8885A308D3;
    const float P = 0.3f;

    Dropout For(KernelVariant variant) => ForVariant(variant, (device, v) => new Dropout(device, v));

    /// <summary>The mask recomputed from Philox's words in float64: element i keeps when word i mod 4 of block i/4, over 2^32, is at least p.</summary>
    static double[] ReferenceMask(int n, float p, ulong seed, ulong stream) => Enumerable.Range(0, n).Select(i =>
    {
        var (w0, w1, w2, w3) = Philox.Philox4x32_10((uint)(i / 4), 0, (uint)stream, (uint)(stream >> 32), (uint)seed, (uint)(seed >> 32));
        uint word = (i % 4) switch { 0 => w0, 1 => w1, 2 => w2, _ => w3 };
        return (word >> 8) / 16777216.0 >= p ? 1.0 / (1.0 - p) : 0.0;
    }).ToArray();

    (float[] Y, float[] Mask) Forward(float[] x, float p, ulong seed, ulong stream, KernelVariant variant = KernelVariant.Auto)
    {
        int n = x.Length;
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, n);
        using var mask = TestData.Poisoned(Device, n);
        For(variant).Forward(xs.View, ys.View, mask.View, n, p, seed, stream);
        return (TestData.Download(ys, n), TestData.Download(mask, n));
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void ForwardMatchesReference(int n, KernelVariant variant)
    {
        var x = TestData.Uniform(new Random(n), n);
        var (y, mask) = Forward(x, P, Seed, 17, variant);

        var expectedMask = ReferenceMask(n, P, Seed, 17);
        TestData.AssertClose(expectedMask, mask, 1e-7, 0, "mask");
        TestData.AssertClose(x.Select((v, i) => v * expectedMask[i]).ToArray(), y, 1e-7, 0, "y");
    }

    /// <summary>
    /// A dropout layer draws the mask of the context's seed and of (step, pass, its index among the network's
    /// dropout layers): the streams a checkpoint's resume relies on drawing again.
    /// </summary>
    [Test]
    public void LayerDrawsTheMaskOfItsContextsStream()
    {
        const int rows = 3, features = 11;
        var x = TestData.Uniform(new Random(5), rows * features);
        using var layer = new DropoutLayer(new KernelSet(Device), features, P, rows, index: 1);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, rows * features);

        layer.Forward(xs.View, ys.View, rows, new ForwardContext(ForwardMode.Train, Seed, Step: 6, Pass: 1));

        var expectedMask = ReferenceMask(rows * features, P, Seed, RandomStreams.DropoutStream(6, 1, 1));
        TestData.AssertClose(x.Select((v, i) => v * expectedMask[i]).ToArray(), TestData.Download(ys, rows * features),
            1e-7, 0, "y");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void BackwardMatchesReference(int n, KernelVariant variant)
    {
        var rng = new Random(100 + n);
        var dy = TestData.Uniform(rng, n);
        var mask = ReferenceMask(n, P, Seed, 3);
        using var dys = TestData.Upload(Device, dy);
        using var masks = TestData.Upload(Device, Array.ConvertAll(mask, m => (float)m));
        using var dxs = TestData.Poisoned(Device, n);

        For(variant).Backward(dys.View, masks.View, dxs.View, n);

        TestData.AssertClose(dy.Select((d, i) => d * mask[i]).ToArray(), TestData.Download(dxs, n), 1e-7, 0, "dx");
    }

    /// <summary>With the mask fixed by (seed, stream), the backward against central differences of the forward.</summary>
    [TestCaseSource(typeof(TestData), nameof(TestData.Variants))]
    public void BackwardMatchesFiniteDifferences(KernelVariant variant)
    {
        const int n = 33;
        const float h = 1e-2f;
        var rng = new Random(7);
        var x = TestData.Uniform(rng, n, -3f, 3f);
        var dy = TestData.Uniform(rng, n);
        var expected = FiniteDifference.ElementWise(x, h, input => Forward(input, P, Seed, 9, variant).Y)
            .Select((derivative, i) => dy[i] * derivative).ToArray();
        Assert.That(expected.Count(d => d == 0), Is.InRange(1, n - 1), "the mask drops some elements and keeps others");

        using var dys = TestData.Upload(Device, dy);
        using var masks = TestData.Upload(Device, Forward(x, P, Seed, 9, variant).Mask);
        using var dxs = TestData.Poisoned(Device, n);
        For(variant).Backward(dys.View, masks.View, dxs.View, n);

        TestData.AssertClose(expected, TestData.Download(dxs, n), 2e-3, 1e-4, "dx");
    }

    /// <summary>
    /// Over 10^5 elements the share kept is 1 − p within 6σ, with the expected output equal to the input, and each
    /// of the four Philox words keeps its share; p = 0 keeps all, unscaled.
    /// </summary>
    [TestCase(0.3f)]
    [TestCase(0.5f)]
    [TestCase(0f)]
    public void MaskKeepsOneMinusPAndScales(float p)
    {
        const int n = 100_000;
        var x = Enumerable.Repeat(1f, n).ToArray();
        var (y, mask) = Forward(x, p, Seed, RandomStreams.DropoutStream(12, 0, 1));

        float scale = (float)(1.0 / (1.0 - p));
        Assert.That(mask.All(m => m == 0f || m == scale), "every mask value is 0 or 1/(1 − p)");
        Assert.That(y, Is.EqualTo(mask), "y = x·mask");
        double sigma = Math.Sqrt(p * (1 - p) / n);
        Assert.That(mask.Count(m => m != 0f) / (double)n, Is.EqualTo(1 - p).Within(6 * sigma + 1e-12), "share kept");
        Assert.That(y.Average(v => (double)v), Is.EqualTo(1).Within(6 * sigma / (1 - p) + 1e-6), "expected output");
        for (int lane = 0; lane < 4; lane++)
        {
            double kept = Enumerable.Range(0, n / 4).Count(b => mask[4 * b + lane] != 0f) / (n / 4.0);
            Assert.That(kept, Is.EqualTo(1 - p).Within(6 * 2 * sigma + 1e-12), $"share kept by word {lane}");
        }
    }

    /// <summary>The same (seed, step, pass, layer) gives the same mask; another of any of them an independent one.</summary>
    [Test]
    public void MasksAreReproducibleAndIndependentAcrossStepsPassesLayersAndSeeds()
    {
        const int n = 20_000;
        var x = Enumerable.Repeat(1f, n).ToArray();
        float[] Mask(ulong seed, long step, int pass, int layer) => Forward(x, P, seed, RandomStreams.DropoutStream(step, pass, layer)).Mask;

        var reference = Mask(Seed, 5, 0, 0);
        Assert.That(Mask(Seed, 5, 0, 0), Is.EqualTo(reference), "same seed, step, pass and layer");
        // Independent masks agree where both keep or both drop: (1 − p)² + p² of the elements.
        double agreement = P * P + (1 - P) * (1 - P), sigma = Math.Sqrt(agreement * (1 - agreement) / n);
        foreach (var (what, other) in new[] { ("next step", Mask(Seed, 6, 0, 0)), ("G step's pass", Mask(Seed, 5, 1, 0)),
                                             ("next layer", Mask(Seed, 5, 0, 1)), ("another seed", Mask(Seed + 1, 5, 0, 0)) })
        {
            double agree = Enumerable.Range(0, n).Count(i => (other[i] != 0f) == (reference[i] != 0f)) / (double)n;
            Assert.That(agree, Is.EqualTo(agreement).Within(6 * sigma), what);
        }
    }

    [TestCase(-0.1f)]
    [TestCase(1f)]
    [TestCase(float.NaN)]
    public void ProbabilityOutsideZeroToOneIsRejected(float p)
    {
        using var buffer = TestData.Poisoned(Device, 4);
        Assert.That(() => For(KernelVariant.Auto).Forward(buffer.View, buffer.View, buffer.View, 4, p, Seed, 0),
            Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("[0, 1)"));
    }

    /// <summary>The CPU workers draw each Philox block once and apply it as the portable kernels do: masks, outputs and gradients agree to the bit.</summary>
    [Test]
    public void CpuWorkersMatchThePortableKernelsBitForBit()
    {
        RequireVariant(KernelVariant.CpuWorker);
        const int n = 1003;
        var rng = new Random(43);
        var x = TestData.Uniform(rng, n);
        var dy = TestData.Uniform(rng, n);
        float[][] Run(KernelVariant variant)
        {
            var (y, mask) = Forward(x, P, Seed, 23, variant);
            using var dys = TestData.Upload(Device, dy);
            using var masks = TestData.Upload(Device, mask);
            using var dxs = TestData.Poisoned(Device, n);
            For(variant).Backward(dys.View, masks.View, dxs.View, n);
            return [y, mask, TestData.Download(dxs, n)];
        }
        Assert.That(Run(KernelVariant.CpuWorker), Is.EqualTo(Run(KernelVariant.Portable)));
    }
}

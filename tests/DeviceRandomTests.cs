using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>The host generator alone: Random123's known answers and the documented element formulas.</summary>
public sealed class PhiloxTests
{
    /// <summary>
    /// The three "philox4x32 10" lines of Random123's tests/kat_vectors (DEShawResearch/random123):
    /// counter (4 words), key (2 words), expected output (4 words).
    /// </summary>
    [TestCase(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
        0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
        0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
        0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Philox4x32_10MatchesRandom123KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1,
        uint e0, uint e1, uint e2, uint e3) =>
        Assert.That(Philox.Philox4x32_10(c0, c1, c2, c3, k0, k1), Is.EqualTo((e0, e1, e2, e3)));

    [Test]
    public void UniformTakesTheHigh24BitsAndStaysBelowOne()
    {
        Assert.That(Philox.Uniform(0x000000FFu), Is.EqualTo(0f));
        Assert.That(Philox.Uniform(0x00000100u), Is.EqualTo(MathF.Pow(2, -24)));
        Assert.That(Philox.Uniform(0xFFFFFFFFu), Is.EqualTo(1 - MathF.Pow(2, -24)));
    }

    /// <summary>
    /// Element 4b + lane is Box–Muller on block b of (counter = (b, stream), key = seed): words (0, 1) give
    /// r·cos and r·sin, words (2, 3) the next pair. Recomputed here in float64 from the raw Philox words.
    /// </summary>
    [Test]
    public void GaussianIsBoxMullerOnThePhiloxBlockOfItsIndex()
    {
        ulong seed = 0xFEDCBA9876543210, stream = 0x0123456789ABCDEF;
        foreach (long index in new long[] { 0, 1, 2, 3, 4, 41, 1_000_003, (1L << 31) - 1 })
        {
            ulong block = (ulong)index / 4;
            var (w0, w1, w2, w3) = Philox.Philox4x32_10((uint)block, (uint)(block >> 32), (uint)stream,
                (uint)(stream >> 32), (uint)seed, (uint)(seed >> 32));
            var words = new[] { w0, w1, w2, w3 };
            int lane = (int)(index % 4), pair = lane / 2 * 2;
            double radius = Math.Sqrt(-2 * Math.Log(1 - (words[pair] >> 8) / 16777216.0));
            double angle = 2 * Math.PI * (words[pair + 1] >> 8) / 16777216.0;
            double expected = radius * (lane % 2 == 0 ? Math.Cos(angle) : Math.Sin(angle));
            Assert.That(Philox.Gaussian(seed, stream, index), Is.EqualTo(expected).Within(1e-5), $"index {index}");
        }
    }
}

public sealed class DeviceRandomTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const ulong Seed = 0x9E3779B97F4A7C15;

    DeviceRandom random = null!;

    [OneTimeSetUp]
    public void LoadKernels() => random = new DeviceRandom(Device);

    float[] Gaussian(int n, ulong seed, ulong stream)
    {
        using var output = TestData.Poisoned(Device, n);
        random.Gaussian(output.View, n, seed, stream);
        return TestData.Download(output, n);
    }

    /// <summary>Two draws in one launch, poisoned sentinels past them: the values of the two draws made one at a time.</summary>
    [TestCase(1)]
    [TestCase(7)]
    [TestCase(1601)]
    public void GaussiansAreTheTwoDrawsInOneLaunch(int n)
    {
        using var output = TestData.Poisoned(Device, 2 * n + 3);
        random.Gaussians(output.View, n, Seed, 5, 9);
        var both = TestData.Download(output, 2 * n + 3);
        Assert.That(both[..n], Is.EqualTo(Gaussian(n, Seed, 5)), "first");
        Assert.That(both[n..(2 * n)], Is.EqualTo(Gaussian(n, Seed, 9)), "second");
        Assert.That(both[(2 * n)..], Is.All.NaN, "past the end");
    }

    int[] Permutation(int n, ulong seed, ulong stream)
    {
        using var perm = Device.Accelerator.Allocate1D(Enumerable.Repeat(-1, n).ToArray());
        random.Permutation(perm.View, n, seed, stream);
        return perm.GetAsArray1D();
    }

    /// <summary>
    /// The CPU accelerator runs the host code itself: bit-exact. CUDA's MathF.Log is lg2.approx.f32 (absolute
    /// error 2^-21.4 near 1), which the square root turns into up to √(2·2^-21.4) ≈ 9e-4 where the radius is
    /// near 0, and its sin/cos.approx add ~2^-21·5.8; OpenCL's are more accurate.
    /// </summary>
    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizes))]
    [TestCase(1000)]
    public void GaussianMatchesHostReference(int n)
    {
        const int slack = 5;
        ulong stream = (ulong)n << 40 | 3;
        using var output = TestData.Poisoned(Device, n + slack);
        random.Gaussian(output.View, n, Seed, stream);
        var actual = TestData.Download(output, n + slack);

        var expected = Enumerable.Range(0, n).Select(i => Philox.Gaussian(Seed, stream, i)).ToArray();
        if (Device.IsCpu) Assert.That(actual[..n], Is.EqualTo(expected), "bit-exact on the CPU accelerator");
        else TestData.AssertClose(TestData.ToDouble(expected), actual[..n], 1e-5, 1e-3, "z");
        Assert.That(actual[n..].All(float.IsNaN), "nothing written past n");
    }

    /// <summary>
    /// Moments, deciles, tails, each Box–Muller lane, and the cos/sin pairs on 100,003 samples. Every bound is
    /// at least 6 standard errors of its statistic (chi-square: p ≈ 1e-5): a correct generator passes but for
    /// odds of about 1e-5 (and the seed is fixed), while a wrong scale, shift, lane or shape fails.
    /// </summary>
    [Test]
    public void GaussianHasStandardNormalStatistics()
    {
        const int n = 100_003;
        var z = Gaussian(n, Seed, 7);
        Assert.That(z.All(float.IsFinite), "all finite");
        Assert.That(z.Max(MathF.Abs), Is.LessThanOrEqualTo(5.78f), "|z| ≤ √(48 ln 2), the 24-bit uniform's limit");

        var (mean, variance, skewness, kurtosis) = Moments(z);
        Assert.That(mean, Is.EqualTo(0).Within(6 / Math.Sqrt(n)), "mean");
        Assert.That(variance, Is.EqualTo(1).Within(6 * Math.Sqrt(2.0 / n)), "variance");
        Assert.That(skewness, Is.EqualTo(0).Within(6 * Math.Sqrt(6.0 / n)), "skewness");
        Assert.That(kurtosis, Is.EqualTo(3).Within(6 * Math.Sqrt(24.0 / n)), "kurtosis");

        // N(0,1)'s deciles: each bin holds n/10; chi-square with 9 degrees of freedom, p(> 40) ≈ 1e-5.
        double[] deciles = [-1.2815516, -0.8416212, -0.5244005, -0.2533471, 0, 0.2533471, 0.5244005, 0.8416212, 1.2815516];
        var bins = new int[10];
        foreach (var v in z) bins[deciles.Count(edge => v > edge)]++;
        double chiSquare = bins.Sum(count => (count - n / 10.0) * (count - n / 10.0) / (n / 10.0));
        Assert.That(chiSquare, Is.LessThan(40), $"decile counts {string.Join(", ", bins)}");

        // P(|z| > 3) = 0.0026998.
        double beyond3 = n * 0.0026998;
        Assert.That(z.Count(v => MathF.Abs(v) > 3), Is.EqualTo(beyond3).Within(6 * Math.Sqrt(beyond3)), "tails beyond 3σ");

        int lanes = n / 4;
        for (int lane = 0; lane < 4; lane++)
        {
            var (laneMean, laneVariance, _, _) = Moments(Enumerable.Range(0, lanes).Select(b => z[4 * b + lane]).ToArray());
            Assert.That(laneMean, Is.EqualTo(0).Within(6 / Math.Sqrt(lanes)), $"lane {lane} mean");
            Assert.That(laneVariance, Is.EqualTo(1).Within(6 * Math.Sqrt(2.0 / lanes)), $"lane {lane} variance");
        }
        double cosSin = Enumerable.Range(0, lanes).Sum(b => (double)z[4 * b] * z[4 * b + 1]) / lanes;
        Assert.That(cosSin, Is.EqualTo(0).Within(6 / Math.Sqrt(lanes)), "r·cos and r·sin uncorrelated");
    }

    [Test]
    public void GaussianIsReproducibleAndStreamsAndSeedsDiffer()
    {
        const int n = 10_007;
        var reference = Gaussian(n, Seed, 5);
        Assert.That(Gaussian(n, Seed, 5), Is.EqualTo(reference), "same seed and stream");
        foreach (var (seed, stream, what) in new[]
                 {
                     (Seed, 6UL, "next stream"), (Seed, 5UL | 1UL << 32, "stream's high word"),
                     (Seed + 1, 5UL, "next seed"), (Seed ^ 1UL << 32, 5UL, "seed's high word"),
                 })
        {
            var other = Gaussian(n, seed, stream);
            Assert.That(Enumerable.Range(0, n).Count(i => other[i] == reference[i]), Is.LessThan(3), $"{what}: equal elements");
            double correlation = Enumerable.Range(0, n).Sum(i => (double)other[i] * reference[i]) / n;
            Assert.That(correlation, Is.EqualTo(0).Within(6 / Math.Sqrt(n)), $"{what}: correlation");
        }
    }

    [TestCase(1), TestCase(7), TestCase(33), TestCase(100), TestCase(127), TestCase(60_000)]
    public void PermutationIsAPermutationAndMatchesHostReference(int n)
    {
        const int slack = 3;
        ulong stream = (ulong)n;
        using var perm = Device.Accelerator.Allocate1D(Enumerable.Repeat(-1, n + slack).ToArray());
        random.Permutation(perm.View, n, Seed, stream);
        var actual = perm.GetAsArray1D();

        Assert.That(actual[..n].Order(), Is.EqualTo(Enumerable.Range(0, n)), "each of 0..n−1 exactly once");
        Assert.That(actual[n..], Is.All.EqualTo(-1), "nothing written past n");
        var expected = Enumerable.Range(0, n).Select(i => Philox.PermutationElement(Seed, stream, n, i));
        Assert.That(actual[..n], Is.EqualTo(expected), "host reference");
    }

    [Test]
    public void PermutationIsReproducibleAndStreamsAndSeedsDiffer()
    {
        const int n = 100;
        var reference = Permutation(n, Seed, 0);
        Assert.That(Permutation(n, Seed, 0), Is.EqualTo(reference), "same seed and stream");
        Assert.That(reference, Is.Not.EqualTo(Enumerable.Range(0, n)), "not the identity");
        foreach (var (seed, stream, what) in new[]
                 {
                     (Seed, 1UL, "next stream"), (Seed, 1UL << 32, "stream's high word"),
                     (Seed + 1, 0UL, "next seed"), (Seed ^ 1UL << 32, 0UL, "seed's high word"),
                 })
        {
            var other = Permutation(n, seed, stream);
            // Two independent permutations agree at 1 position on average; 10 is p ≈ 1e-7.
            Assert.That(Enumerable.Range(0, n).Count(i => other[i] == reference[i]), Is.LessThan(10), what);
        }
    }

    /// <summary>
    /// Over 4,000 streams, how often position i holds value j: 400 each for a uniform shuffle. Chi-square
    /// with (n−1)² = 81 degrees of freedom, p(&gt; 160) ≈ 5e-7. With 4 rounds on the bare next power of two
    /// the cycle walk's bias puts this near 215.
    /// </summary>
    [Test]
    public void PermutationPositionsAreUniformOverStreams()
    {
        const int n = 10, streams = 4000;
        var counts = new int[n, n];
        using var perm = Device.Accelerator.Allocate1D<int>(n);
        var values = new int[n];
        for (int stream = 0; stream < streams; stream++)
        {
            random.Permutation(perm.View, n, Seed, (ulong)stream);
            perm.View.CopyToCPU(values);
            for (int i = 0; i < n; i++) counts[i, values[i]]++;
        }
        double expected = (double)streams / n, chiSquare = 0;
        foreach (var count in counts) chiSquare += (count - expected) * (count - expected) / expected;
        Assert.That(chiSquare, Is.LessThan(160));
    }

    /// <summary>All 6 orders of 3 items over 6,000 streams: 1,000 each; chi-square with 5 degrees of freedom, p(&gt; 30) ≈ 1.5e-5.</summary>
    [Test]
    public void PermutationsOfThreeAreEquallyLikely()
    {
        const int n = 3, streams = 6000;
        var counts = new Dictionary<int, int>();
        for (int stream = 0; stream < streams; stream++)
        {
            var p = Permutation(n, Seed, (ulong)stream);
            int key = 9 * p[0] + 3 * p[1] + p[2];
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }
        Assert.That(counts, Has.Count.EqualTo(6));
        double chiSquare = counts.Values.Sum(c => (c - 1000.0) * (c - 1000.0) / 1000.0);
        Assert.That(chiSquare, Is.LessThan(30));
    }

    static (double Mean, double Variance, double Skewness, double Kurtosis) Moments(float[] values)
    {
        double mean = values.Average(v => (double)v);
        double m2 = values.Average(v => Math.Pow(v - mean, 2));
        double m3 = values.Average(v => Math.Pow(v - mean, 3));
        double m4 = values.Average(v => Math.Pow(v - mean, 4));
        return (mean, m2, m3 / Math.Pow(m2, 1.5), m4 / (m2 * m2));
    }
}

using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Tests;

/// <summary>The measures of `eval` on tiny sets with known answers: float64 references and closed forms.</summary>
public sealed class SampleQualityTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const int Pixels = 30;

    KernelSet kernels = null!;

    [OneTimeSetUp]
    public void LoadKernels() => kernels = new KernelSet(Device);

    static byte[] RandomImages(Random rng, int count, int pixels)
    {
        var bytes = new byte[count * pixels];
        rng.NextBytes(bytes);
        return bytes;
    }

    /// <summary>parzen_ll.py's formula in float64 over the images themselves.</summary>
    static double[] ReferenceLogLikelihoods(byte[] queries, byte[] samples, int pixels, double sigma)
    {
        int q = queries.Length / pixels, n = samples.Length / pixels;
        return Enumerable.Range(0, q).Select(i =>
        {
            var exponents = Enumerable.Range(0, n).Select(j =>
                -Enumerable.Range(0, pixels).Sum(k => Math.Pow(queries[i * pixels + k] / 255.0 - samples[j * pixels + k] / 255.0, 2))
                / (2 * sigma * sigma)).ToArray();
            double max = exponents.Max();
            return max + Math.Log(exponents.Average(e => Math.Exp(e - max))) - pixels * Math.Log(sigma * Math.Sqrt(2 * Math.PI));
        }).ToArray();
    }

    [TestCase(1, 1)]
    [TestCase(7, 33)]
    [TestCase(33, 7)]
    public void ParzenLogLikelihoodsMatchFloat64(int queryCount, int sampleCount)
    {
        var rng = new Random(queryCount * 100 + sampleCount);
        var queries = RandomImages(rng, queryCount, Pixels);
        var samples = RandomImages(rng, sampleCount, Pixels);
        using var queryImages = new DeviceImages(kernels, queries, Pixels);
        using var sampleImages = new DeviceImages(kernels, samples, Pixels);

        var actual = ParzenWindow.LogLikelihoods(kernels, queryImages, sampleImages, ParzenWindow.PaperSigmas);

        for (int s = 0; s < ParzenWindow.PaperSigmas.Count; s++)
        {
            double sigma = ParzenWindow.PaperSigmas[s];
            // Float distances of ~5 carry ~1e-5, scaled by 1/2σ² ≤ 50.
            TestData.AssertClose(ReferenceLogLikelihoods(queries, samples, Pixels, sigma),
                Array.ConvertAll(actual[s], v => (float)v), 1e-5, 2e-3, $"σ {sigma}");
        }
    }

    /// <summary>One sample, σ = 1: log p(x) = −‖x − s‖²/2 − (d/2)·log 2π, with ‖x − s‖² = k for k pixels at 255 against 0.</summary>
    [Test]
    public void ParzenOfOneSampleIsAGaussian()
    {
        var query = new byte[Pixels];
        var sample = new byte[Pixels];
        for (int k = 0; k < 12; k++) sample[2 * k] = 255;
        using var queryImages = new DeviceImages(kernels, query, Pixels);
        using var sampleImages = new DeviceImages(kernels, sample, Pixels);

        var actual = ParzenWindow.LogLikelihoods(kernels, queryImages, sampleImages, [1.0])[0][0];

        Assert.That(actual, Is.EqualTo(-12 / 2.0 - Pixels / 2.0 * Math.Log(2 * Math.PI)).Within(1e-5));
    }

    [Test]
    public void PaperSigmasAreNumpyLogspace()
    {
        Assert.That(ParzenWindow.PaperSigmas, Has.Count.EqualTo(10));
        Assert.That(ParzenWindow.PaperSigmas[0], Is.EqualTo(0.1).Within(1e-15));
        Assert.That(ParzenWindow.PaperSigmas[1], Is.EqualTo(0.12915496650148839).Within(1e-15));
        Assert.That(ParzenWindow.PaperSigmas[9], Is.EqualTo(1.0).Within(1e-15));
    }

    /// <summary>
    /// Samples equal to the test set: σ is the validation set's best, and the test set's mean and standard error
    /// (numpy's std, ddof 0, over √n) are the float64 reference's.
    /// </summary>
    [Test]
    public void ParzenEstimateOfTheTestSetItselfMatchesFloat64()
    {
        var rng = new Random(3);
        // Images of a few shared strokes plus noise, so that the best σ is inside the range, not at its edge.
        var strokes = RandomImages(rng, 3, Pixels);
        byte[] Noisy(int count) => Enumerable.Range(0, count * Pixels)
            .Select(i => (byte)Math.Clamp(strokes[(i / Pixels % 3) * Pixels + i % Pixels] + rng.Next(-80, 81), 0, 255)).ToArray();
        var test = Noisy(21);
        var validation = Noisy(9);
        using var testImages = new DeviceImages(kernels, test, Pixels);
        using var validationImages = new DeviceImages(kernels, validation, Pixels);

        var result = ParzenWindow.Estimate(kernels, testImages, validationImages, testImages, ParzenWindow.PaperSigmas);

        var validationMeans = ParzenWindow.PaperSigmas.Select(s => ReferenceLogLikelihoods(validation, test, Pixels, s).Average()).ToArray();
        double sigma = ParzenWindow.PaperSigmas[Array.IndexOf(validationMeans, validationMeans.Max())];
        Assert.That(sigma, Is.GreaterThan(0.1).And.LessThan(1.0), "the case chooses an inner σ");
        var expected = ReferenceLogLikelihoods(test, test, Pixels, sigma);
        double mean = expected.Average();
        double se = Math.Sqrt(expected.Average(v => (v - mean) * (v - mean)) / expected.Length);
        Assert.That(result.Sigma, Is.EqualTo(sigma));
        Assert.That(result.Mean, Is.EqualTo(mean).Within(1e-3));
        Assert.That(result.StandardError, Is.EqualTo(se).Within(1e-3));
    }

    /// <summary>The features are the last hidden layer's ReLU output, recomputed in float64 from the parameters.</summary>
    [Test]
    public void PredictGivesTheLastHiddenLayersActivations()
    {
        const int count = 9;
        using var classifier = new Classifier(kernels, Pixels, [16, 12], 4, maxRows: 4);
        Initialization.LikePyTorch(classifier, Initialization.PhiloxUniform(5), 0);
        using var images = new DeviceImages(kernels, RandomImages(new Random(3), count, Pixels), Pixels);
        using var features = TestData.Poisoned(Device, count * classifier.FeatureCount);
        using var probabilities = TestData.Poisoned(Device, count * classifier.Classes);

        classifier.Predict(images.Pixels, count, features.View, probabilities.View);

        var parameters = classifier.Store.AllParameters.GetAsArray();
        var activations = TestData.ToDouble(images.Pixels.GetAsArray());
        foreach (var linear in classifier.Layers.OfType<Linear>().SkipLast(1))
        {
            var next = new double[count * linear.Out];
            for (int r = 0; r < count; r++)
                for (int o = 0; o < linear.Out; o++)
                {
                    double sum = parameters[linear.BiasSlot.Offset + o];
                    for (int i = 0; i < linear.In; i++)
                        sum += parameters[linear.Weight.Offset + o * linear.In + i] * activations[r * linear.In + i];
                    next[r * linear.Out + o] = Math.Max(sum, 0);
                }
            activations = next;
        }
        Assert.That(classifier.FeatureCount, Is.EqualTo(12));
        TestData.AssertClose(activations, TestData.Download(features, count * 12), 1e-5, 1e-6, "features");
    }

    /// <summary>Through the device moments: a set against itself is 0, against another set it is not.</summary>
    [Test]
    public void FrechetOfASetWithItselfIsZero()
    {
        var rng = new Random(8);
        using var classifier = new Classifier(kernels, Pixels, [16, 12], 4, maxRows: 7);
        Initialization.LikePyTorch(classifier, Initialization.PhiloxUniform(5), 0);
        var test = RandomImages(rng, 40, Pixels);
        using var quality = new SampleQuality(kernels, classifier, Pixels, test, RandomImages(rng, 9, Pixels));

        var itself = quality.Evaluate(test);
        var other = quality.Evaluate(RandomImages(rng, 40, Pixels).Select(b => (byte)(b / 2)).ToArray());

        Assert.That(itself.Frechet, Is.EqualTo(0).Within(1e-4));
        Assert.That(other.Frechet, Is.GreaterThan(1e-2));
        Assert.That(itself.Count, Is.EqualTo(40));
        Assert.That(itself.ClassShares.Sum(), Is.EqualTo(1).Within(1e-12));
        Assert.That(itself.ClassifierScore, Is.InRange(1.0, 4.0));
    }

    /// <summary>Without a classifier (data without labels): the same Parzen figures, and no classifier measure at all.</summary>
    [Test]
    public void WithoutAClassifierOnlyParzenIsMeasured()
    {
        var rng = new Random(9);
        using var classifier = new Classifier(kernels, Pixels, [16, 12], 4, maxRows: 7);
        Initialization.LikePyTorch(classifier, Initialization.PhiloxUniform(5), 0);
        var test = RandomImages(rng, 40, Pixels);
        var validation = RandomImages(rng, 9, Pixels);
        var samples = RandomImages(rng, 30, Pixels);
        using var withClassifier = new SampleQuality(kernels, classifier, Pixels, test, validation);
        using var without = new SampleQuality(kernels, null, Pixels, test, validation);

        var expected = withClassifier.Evaluate(samples);
        var actual = without.Evaluate(samples);

        Assert.That(actual.Parzen, Is.EqualTo(expected.Parzen));
        Assert.That((actual.Frechet, actual.ClassifierScore, actual.MinClassShare), Is.EqualTo(((double?)null, (double?)null, (double?)null)));
        Assert.That(actual.ClassShares, Is.Empty);
        Assert.That(expected.Frechet, Is.Not.Null);
    }

    /// <summary>Σ1 = Q·diag(a)·Qᵀ and Σ2 = Q·diag(b)·Qᵀ commute: the distance is ‖μ1 − μ2‖² + Σ (√a − √b)².</summary>
    [Test]
    public void FrechetOfCommutingGaussiansHasTheClosedForm()
    {
        const int n = 6;
        var rng = new Random(4);
        var q = Orthogonal(rng, n);
        var a = Enumerable.Range(0, n).Select(_ => 0.1 + 3 * rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, n).Select(_ => 0.1 + 3 * rng.NextDouble()).ToArray();
        var mean1 = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
        var mean2 = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();

        double actual = FrechetDistance.Compute(mean1, Rotated(q, a), mean2, Rotated(q, b));

        double expected = Enumerable.Range(0, n).Sum(i => Math.Pow(mean1[i] - mean2[i], 2) + Math.Pow(Math.Sqrt(a[i]) - Math.Sqrt(b[i]), 2));
        Assert.That(actual, Is.EqualTo(expected).Within(1e-10));
    }

    /// <summary>2×2 covariances that do not commute: tr √(Σ1Σ2) = √(tr Σ1Σ2 + 2·√(det Σ1·det Σ2)).</summary>
    [Test]
    public void FrechetOfNonCommutingGaussiansHasTheClosedForm()
    {
        double[,] s1 = { { 2.0, 0.7 }, { 0.7, 1.0 } };
        double[,] s2 = { { 0.5, -0.2 }, { -0.2, 3.0 } };
        double[] mean1 = [1, 2], mean2 = [0.5, -1];

        double actual = FrechetDistance.Compute(mean1, s1, mean2, s2);

        double traceProduct = s1[0, 0] * s2[0, 0] + s1[0, 1] * s2[1, 0] + s1[1, 0] * s2[0, 1] + s1[1, 1] * s2[1, 1];
        double det1 = s1[0, 0] * s1[1, 1] - s1[0, 1] * s1[1, 0], det2 = s2[0, 0] * s2[1, 1] - s2[0, 1] * s2[1, 0];
        double expected = 0.25 + 9 + 3 + 3.5 - 2 * Math.Sqrt(traceProduct + 2 * Math.Sqrt(det1 * det2));
        Assert.That(actual, Is.EqualTo(expected).Within(1e-12));
    }

    [Test]
    public void SymmetricEigenReconstructsTheMatrix()
    {
        const int n = 9;
        var rng = new Random(6);
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++) m[i, j] = m[j, i] = rng.NextDouble() - 0.5;

        var (values, vectors) = SymmetricEigen.Decompose(m);

        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double rebuilt = Enumerable.Range(0, n).Sum(k => vectors[i, k] * values[k] * vectors[j, k]);
                double identity = Enumerable.Range(0, n).Sum(k => vectors[k, i] * vectors[k, j]);
                Assert.That(rebuilt, Is.EqualTo(m[i, j]).Within(1e-12), $"V·Λ·Vᵀ [{i},{j}]");
                Assert.That(identity, Is.EqualTo(i == j ? 1 : 0).Within(1e-12), $"Vᵀ·V [{i},{j}]");
            }
    }

    /// <summary>Gram-Schmidt of a random matrix.</summary>
    static double[,] Orthogonal(Random rng, int n)
    {
        var q = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            var v = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
            for (int k = 0; k < j; k++)
            {
                double dot = Enumerable.Range(0, n).Sum(i => v[i] * q[i, k]);
                for (int i = 0; i < n; i++) v[i] -= dot * q[i, k];
            }
            double norm = Math.Sqrt(v.Sum(x => x * x));
            for (int i = 0; i < n; i++) q[i, j] = v[i] / norm;
        }
        return q;
    }

    static double[,] Rotated(double[,] q, double[] diagonal)
    {
        int n = diagonal.Length;
        var m = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                m[i, j] = Enumerable.Range(0, n).Sum(k => q[i, k] * diagonal[k] * q[j, k]);
        return m;
    }
}

/// <summary>The classifier score and class shares, whose bounds are known.</summary>
public sealed class ClassifierScoreTests
{
    static float[] OneHot(int[] classes, int classCount)
    {
        var p = new float[classes.Length * classCount];
        for (int r = 0; r < classes.Length; r++) p[r * classCount + classes[r]] = 1f;
        return p;
    }

    [Test]
    public void ConfidentAndBalancedPredictionsScoreTheClassCount()
    {
        var (score, shares) = ClassifierScore.Compute(OneHot(Enumerable.Range(0, 50).Select(i => i % 10).ToArray(), 10), 10);
        Assert.That(score, Is.EqualTo(10).Within(1e-9));
        Assert.That(shares, Is.All.EqualTo(0.1).Within(1e-12));
    }

    [Test]
    public void OneClassScoresOne()
    {
        var (score, shares) = ClassifierScore.Compute(OneHot(Enumerable.Repeat(3, 20).ToArray(), 10), 10);
        Assert.That(score, Is.EqualTo(1).Within(1e-12));
        Assert.That(shares[3], Is.EqualTo(1).Within(1e-12));
        Assert.That(shares.Where((_, c) => c != 3), Is.All.EqualTo(0));
    }

    /// <summary>Unsure predictions, uniform over the classes, say nothing: KL 0, score 1, whatever the argmax.</summary>
    [Test]
    public void UniformProbabilitiesScoreOne()
    {
        var p = Enumerable.Repeat(0.25f, 4 * 6).ToArray();
        Assert.That(ClassifierScore.Compute(p, 4).Score, Is.EqualTo(1).Within(1e-7));
    }

    /// <summary>Two classes, p(y|x) = (0.9, 0.1) and (0.1, 0.9): p(y) is uniform and the score is exp(KL((0.9, 0.1) ‖ (0.5, 0.5))).</summary>
    [Test]
    public void TwoClassScoreHasTheClosedForm()
    {
        float[] p = [0.9f, 0.1f, 0.1f, 0.9f];
        double kl = 0.9 * Math.Log(0.9 / 0.5) + 0.1 * Math.Log(0.1 / 0.5);
        Assert.That(ClassifierScore.Compute(p, 2).Score, Is.EqualTo(Math.Exp(kl)).Within(1e-6));
    }
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class AdamTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    /// <summary>
    /// Settings where every term shows: a weight decay and eps large enough that AdamW's decoupled decay, a
    /// missing bias correction or eps added before the correction each move a parameter by more than 1e-5.
    /// </summary>
    static readonly AdamSettings Exaggerated = new(1e-2f, 0.8f, 0.95f, 1e-3f, 0.1f);

    /// <summary>Each size with each variant; the CPU worker runs only on the CPU accelerator.</summary>
    public static IEnumerable<TestCaseData> Cases() =>
        from variant in new[] { KernelVariant.Portable, KernelVariant.CpuWorker }
        from c in TestData.OddSizes.Select(n => (n, settings: Exaggerated, name: "exaggerated"))
            .Append((n: 127, settings: AdamSettings.Reference, name: "reference"))
            .Append((n: 1000, settings: Exaggerated, name: "exaggerated"))
        select new TestCaseData(c.n, c.settings, variant).SetArgDisplayNames(c.n.ToString(), c.name, variant.ToString());

    Adam For(KernelVariant variant) => ForVariant(variant, (device, v) => new Adam(device, v));

    /// <summary>
    /// Steps t = 1..5 from random parameters and moments, a fresh gradient each step, against
    /// torch.optim.Adam's formula in float64. Float32 rounding of a few operations per step, over 5 steps,
    /// stays under 1e-6 for values of order 1.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void StepsMatchFloat64Reference(int n, AdamSettings settings, KernelVariant variant)
    {
        var adam = For(variant);
        const int slack = 3, steps = 5;
        var rng = new Random(n);
        var parameters = TestData.Uniform(rng, n + slack);
        var m = TestData.Uniform(rng, n + slack, -0.1f, 0.1f);
        var v = TestData.Uniform(rng, n + slack, 1e-4f, 1e-2f);
        using var parameterBuffer = TestData.Upload(Device, parameters);
        using var mBuffer = TestData.Upload(Device, m);
        using var vBuffer = TestData.Upload(Device, v);
        var (p64, m64, v64) = (TestData.ToDouble(parameters), TestData.ToDouble(m), TestData.ToDouble(v));
        double lr = settings.LearningRate, beta1 = settings.Beta1, beta2 = settings.Beta2;
        double eps = settings.Eps, weightDecay = settings.WeightDecay;

        for (int t = 1; t <= steps; t++)
        {
            var gradients = TestData.Uniform(rng, n + slack);
            using var gradientBuffer = TestData.Upload(Device, gradients);
            adam.Step(parameterBuffer.View, gradientBuffer.View, mBuffer.View, vBuffer.View, n, t, settings);

            for (int i = 0; i < n; i++)
            {
                double g = gradients[i] + weightDecay * p64[i];
                m64[i] = beta1 * m64[i] + (1 - beta1) * g;
                v64[i] = beta2 * v64[i] + (1 - beta2) * g * g;
                double denominator = Math.Sqrt(v64[i]) / Math.Sqrt(1 - Math.Pow(beta2, t)) + eps;
                p64[i] -= lr / (1 - Math.Pow(beta1, t)) * m64[i] / denominator;
            }
            var actualParameters = TestData.Download(parameterBuffer, n + slack);
            var actualM = TestData.Download(mBuffer, n + slack);
            var actualV = TestData.Download(vBuffer, n + slack);
            TestData.AssertClose(p64[..n], actualParameters[..n], 1e-6, 1e-6, $"param after step {t}");
            TestData.AssertClose(m64[..n], actualM[..n], 1e-6, 3e-7, $"m after step {t}");
            TestData.AssertClose(v64[..n], actualV[..n], 1e-6, 0, $"v after step {t}");
            Assert.That(actualParameters[n..], Is.EqualTo(parameters[n..]), "param past n untouched");
            Assert.That(actualM[n..], Is.EqualTo(m[n..]), "m past n untouched");
            Assert.That(actualV[n..], Is.EqualTo(v[n..]), "v past n untouched");
        }
    }

    /// <summary>
    /// From m = v = 0 the bias corrections make the first step lr·g/(|g| + eps): every parameter moves by lr
    /// against the sign of its gradient, to within lr·eps/|g| (|g| ≥ 1e-3 here) and the float32 rounding of the result.
    /// </summary>
    [Test]
    public void FirstStepMovesEachParameterByLearningRateAgainstGradientSign()
    {
        const int n = 1001;
        var settings = AdamSettings.Reference;
        var rng = new Random(11);
        var parameters = TestData.Uniform(rng, n);
        var gradients = TestData.Uniform(rng, n).Select(g => g + MathF.CopySign(1e-3f, g)).ToArray();
        using var parameterBuffer = TestData.Upload(Device, parameters);
        using var gradientBuffer = TestData.Upload(Device, gradients);
        using var mBuffer = TestData.Upload(Device, new float[n]);
        using var vBuffer = TestData.Upload(Device, new float[n]);

        For(KernelVariant.Auto).Step(parameterBuffer.View, gradientBuffer.View, mBuffer.View, vBuffer.View, n, 1, settings);

        var updated = TestData.Download(parameterBuffer, n);
        for (int i = 0; i < n; i++)
        {
            double g = gradients[i] + (double)settings.WeightDecay * parameters[i];
            double expected = parameters[i] - settings.LearningRate * Math.Sign(g);
            double tolerance = settings.LearningRate * settings.Eps / Math.Abs(g) + Math.Pow(2, -23) * Math.Abs(expected);
            Assert.That(updated[i], Is.EqualTo(expected).Within(tolerance), $"param[{i}], g = {g}");
        }
    }

    /// <summary>The CPU worker's vectors take Update's operations in order: the parameters agree to the bit.</summary>
    [Test]
    public void CpuWorkerMatchesThePortableKernelBitForBit()
    {
        RequireVariant(KernelVariant.CpuWorker);
        const int n = 1003;
        var rng = new Random(31);
        var parameters = TestData.Uniform(rng, n);
        var gradients = TestData.Uniform(rng, n);
        var moments = TestData.Uniform(rng, n, -0.1f, 0.1f);
        var squares = TestData.Uniform(rng, n, 1e-4f, 1e-2f);
        float[][] Run(KernelVariant variant)
        {
            using var p = TestData.Upload(Device, parameters);
            using var g = TestData.Upload(Device, gradients);
            using var m = TestData.Upload(Device, moments);
            using var v = TestData.Upload(Device, squares);
            for (int t = 1; t <= 3; t++) For(variant).Step(p.View, g.View, m.View, v.View, n, t, AdamSettings.Reference);
            return [TestData.Download(p, n), TestData.Download(m, n), TestData.Download(v, n)];
        }
        Assert.That(Run(KernelVariant.CpuWorker), Is.EqualTo(Run(KernelVariant.Portable)));
    }

    [Test]
    public void StepCountsFromOne()
    {
        using var buffer = TestData.Upload(Device, [1f]);
        Assert.Throws<ArgumentOutOfRangeException>(() =>
            For(KernelVariant.Auto).Step(buffer.View, buffer.View, buffer.View, buffer.View, 1, 0, AdamSettings.Reference));
    }
}

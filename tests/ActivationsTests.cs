using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class ActivationsTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const float Slope = 0.2f;

    Activations For(KernelVariant variant) => ForVariant(variant, (device, v) => new Activations(device, v));

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void LeakyReluForwardMatchesReference(int n, KernelVariant variant)
    {
        var x = TestData.Uniform(new Random(n), n);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, n);

        For(variant).LeakyReluForward(xs.View, ys.View, n, Slope);

        var expected = x.Select(v => v > 0 ? (double)v : Slope * (double)v).ToArray();
        TestData.AssertClose(expected, TestData.Download(ys, n), 1e-7, 0, "y");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void LeakyReluBackwardMatchesReference(int n, KernelVariant variant)
    {
        var rng = new Random(100 + n);
        var x = TestData.Uniform(rng, n);
        var dy = TestData.Uniform(rng, n);
        using var xs = TestData.Upload(Device, x);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);

        For(variant).LeakyReluBackward(xs.View, dys.View, dxs.View, n, Slope);

        var expected = x.Select((v, i) => v > 0 ? dy[i] : Slope * (double)dy[i]).ToArray();
        TestData.AssertClose(expected, TestData.Download(dxs, n), 1e-7, 0, "dx");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void SigmoidForwardMatchesReference(int n, KernelVariant variant)
    {
        var x = TestData.Uniform(new Random(200 + n), n, -8f, 8f);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, n);

        For(variant).SigmoidForward(xs.View, ys.View, n);

        var expected = x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray();
        TestData.AssertClose(expected, TestData.Download(ys, n), 1e-6, 1e-7, "y");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void SigmoidBackwardMatchesReference(int n, KernelVariant variant)
    {
        var rng = new Random(300 + n);
        var y = TestData.Uniform(rng, n, 0.01f, 0.99f);
        var dy = TestData.Uniform(rng, n);
        using var ys = TestData.Upload(Device, y);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);

        For(variant).SigmoidBackward(ys.View, dys.View, dxs.View, n);

        var expected = y.Select((s, i) => dy[i] * (double)s * (1 - s)).ToArray();
        TestData.AssertClose(expected, TestData.Download(dxs, n), 1e-6, 1e-7, "dx");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void TanhForwardMatchesReference(int n, KernelVariant variant)
    {
        var x = TestData.Uniform(new Random(400 + n), n, -5f, 5f);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, n);

        For(variant).TanhForward(xs.View, ys.View, n);

        var expected = x.Select(v => Math.Tanh(v)).ToArray();
        TestData.AssertClose(expected, TestData.Download(ys, n), 1e-6, 1e-7, "y");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizesByVariant))]
    public void TanhBackwardMatchesReference(int n, KernelVariant variant)
    {
        var rng = new Random(500 + n);
        var y = TestData.Uniform(rng, n, -0.99f, 0.99f);
        var dy = TestData.Uniform(rng, n);
        using var ys = TestData.Upload(Device, y);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);

        For(variant).TanhBackward(ys.View, dys.View, dxs.View, n);

        var expected = y.Select((t, i) => dy[i] * (1 - (double)t * t)).ToArray();
        TestData.AssertClose(expected, TestData.Download(dxs, n), 1e-6, 1e-7, "dx");
    }

    public static IEnumerable<TestCaseData> OperationsByVariant() =>
        from variant in TestData.Variants from op in new[] { "leaky_relu", "sigmoid", "tanh" } select new TestCaseData(op, variant);

    /// <summary>Every backward against central differences of its forward, through the kernels themselves.</summary>
    [TestCaseSource(nameof(OperationsByVariant))]
    public void BackwardMatchesFiniteDifferences(string op, KernelVariant variant)
    {
        const int n = 33;
        const float h = 1e-2f;
        var rng = new Random(7);
        // Keep x away from LeakyReLU's kink so no difference quotient straddles it.
        var x = TestData.Uniform(rng, n, -3f, 3f).Select(v => v + MathF.CopySign(0.05f, v)).ToArray();
        var dy = TestData.Uniform(rng, n);

        float[] Forward(float[] input)
        {
            using var inputs = TestData.Upload(Device, input);
            using var outputs = TestData.Poisoned(Device, n);
            if (op == "sigmoid") For(variant).SigmoidForward(inputs.View, outputs.View, n);
            else if (op == "tanh") For(variant).TanhForward(inputs.View, outputs.View, n);
            else For(variant).LeakyReluForward(inputs.View, outputs.View, n, Slope);
            return TestData.Download(outputs, n);
        }

        var expected = FiniteDifference.ElementWise(x, h, Forward).Select((derivative, i) => dy[i] * derivative).ToArray();

        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);
        if (op is "sigmoid" or "tanh")
        {
            using var ys = TestData.Upload(Device, Forward(x));
            if (op == "sigmoid") For(variant).SigmoidBackward(ys.View, dys.View, dxs.View, n);
            else For(variant).TanhBackward(ys.View, dys.View, dxs.View, n);
        }
        else
        {
            using var xs = TestData.Upload(Device, x);
            For(variant).LeakyReluBackward(xs.View, dys.View, dxs.View, n, Slope);
        }
        TestData.AssertClose(expected, TestData.Download(dxs, n), 2e-3, 1e-4, "dx");
    }

    /// <summary>
    /// The CPU worker against the portable kernels on every operation, in place and not, with zeros of both signs,
    /// infinities, NaN and values that saturate sigmoid and tanh among random ones: the results agree to the bit.
    /// 1003 elements give both workers whole vectors and the last one a scalar tail.
    /// </summary>
    [Test]
    public void CpuWorkerMatchesThePortableKernelsBitForBit()
    {
        RequireVariant(KernelVariant.CpuWorker);
        const int n = 1003;
        var rng = new Random(41);
        var x = TestData.Uniform(rng, n, -20f, 20f);
        float[] special = [0f, -0f, float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-40f, -1e-40f, 88f, -104f];
        for (int i = 0; i < special.Length; i++) x[97 * i % n] = special[i];
        var y = TestData.Uniform(rng, n, -1f, 1f);
        var dy = TestData.Uniform(rng, n);
        float[] Run(KernelVariant variant, string op, bool inPlace)
        {
            var ops = For(variant);
            using var xs = TestData.Upload(Device, op.EndsWith("backward") && op != "leaky_relu_backward" ? y : x);
            using var dys = TestData.Upload(Device, dy);
            using var outputs = TestData.Poisoned(Device, n);
            var output = inPlace ? (op.EndsWith("backward") ? dys.View : xs.View) : outputs.View;
            switch (op)
            {
                case "leaky_relu_forward": ops.LeakyReluForward(xs.View, output, n, Slope); break;
                case "leaky_relu_backward": ops.LeakyReluBackward(xs.View, dys.View, output, n, Slope); break;
                case "sigmoid_forward": ops.SigmoidForward(xs.View, output, n); break;
                case "sigmoid_backward": ops.SigmoidBackward(xs.View, dys.View, output, n); break;
                case "tanh_forward": ops.TanhForward(xs.View, output, n); break;
                default: ops.TanhBackward(xs.View, dys.View, output, n); break;
            }
            var result = output.SubView(0, n).GetAsArray1D();
            return result;
        }
        foreach (var op in new[] { "leaky_relu_forward", "leaky_relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward" })
            foreach (bool inPlace in new[] { false, true })
                Assert.That(Run(KernelVariant.CpuWorker, op, inPlace), Is.EqualTo(Run(KernelVariant.Portable, op, inPlace)),
                    $"{op}{(inPlace ? " in place" : "")}");
    }
}

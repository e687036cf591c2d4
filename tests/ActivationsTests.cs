using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class ActivationsTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const float Slope = 0.2f;

    Activations ops = null!;

    [OneTimeSetUp]
    public void LoadKernels() => ops = new Activations(Device);

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizes))]
    public void LeakyReluForwardMatchesReference(int n)
    {
        var x = TestData.Uniform(new Random(n), n);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, n);

        ops.LeakyReluForward(xs.View, ys.View, n, Slope);

        var expected = x.Select(v => v > 0 ? (double)v : Slope * (double)v).ToArray();
        TestData.AssertClose(expected, TestData.Download(ys, n), 1e-7, 0, "y");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizes))]
    public void LeakyReluBackwardMatchesReference(int n)
    {
        var rng = new Random(100 + n);
        var x = TestData.Uniform(rng, n);
        var dy = TestData.Uniform(rng, n);
        using var xs = TestData.Upload(Device, x);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);

        ops.LeakyReluBackward(xs.View, dys.View, dxs.View, n, Slope);

        var expected = x.Select((v, i) => v > 0 ? dy[i] : Slope * (double)dy[i]).ToArray();
        TestData.AssertClose(expected, TestData.Download(dxs, n), 1e-7, 0, "dx");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizes))]
    public void SigmoidForwardMatchesReference(int n)
    {
        var x = TestData.Uniform(new Random(200 + n), n, -8f, 8f);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, n);

        ops.SigmoidForward(xs.View, ys.View, n);

        var expected = x.Select(v => 1 / (1 + Math.Exp(-v))).ToArray();
        TestData.AssertClose(expected, TestData.Download(ys, n), 1e-6, 1e-7, "y");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizes))]
    public void SigmoidBackwardMatchesReference(int n)
    {
        var rng = new Random(300 + n);
        var y = TestData.Uniform(rng, n, 0.01f, 0.99f);
        var dy = TestData.Uniform(rng, n);
        using var ys = TestData.Upload(Device, y);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);

        ops.SigmoidBackward(ys.View, dys.View, dxs.View, n);

        var expected = y.Select((s, i) => dy[i] * (double)s * (1 - s)).ToArray();
        TestData.AssertClose(expected, TestData.Download(dxs, n), 1e-6, 1e-7, "dx");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizes))]
    public void TanhForwardMatchesReference(int n)
    {
        var x = TestData.Uniform(new Random(400 + n), n, -5f, 5f);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, n);

        ops.TanhForward(xs.View, ys.View, n);

        var expected = x.Select(v => Math.Tanh(v)).ToArray();
        TestData.AssertClose(expected, TestData.Download(ys, n), 1e-6, 1e-7, "y");
    }

    [TestCaseSource(typeof(TestData), nameof(TestData.OddSizes))]
    public void TanhBackwardMatchesReference(int n)
    {
        var rng = new Random(500 + n);
        var y = TestData.Uniform(rng, n, -0.99f, 0.99f);
        var dy = TestData.Uniform(rng, n);
        using var ys = TestData.Upload(Device, y);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);

        ops.TanhBackward(ys.View, dys.View, dxs.View, n);

        var expected = y.Select((t, i) => dy[i] * (1 - (double)t * t)).ToArray();
        TestData.AssertClose(expected, TestData.Download(dxs, n), 1e-6, 1e-7, "dx");
    }

    /// <summary>Every backward against central differences of its forward, through the kernels themselves.</summary>
    [TestCase("leaky_relu")]
    [TestCase("sigmoid")]
    [TestCase("tanh")]
    public void BackwardMatchesFiniteDifferences(string op)
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
            if (op == "sigmoid") ops.SigmoidForward(inputs.View, outputs.View, n);
            else if (op == "tanh") ops.TanhForward(inputs.View, outputs.View, n);
            else ops.LeakyReluForward(inputs.View, outputs.View, n, Slope);
            return TestData.Download(outputs, n);
        }

        var expected = FiniteDifference.ElementWise(x, h, Forward).Select((derivative, i) => dy[i] * derivative).ToArray();

        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, n);
        if (op is "sigmoid" or "tanh")
        {
            using var ys = TestData.Upload(Device, Forward(x));
            if (op == "sigmoid") ops.SigmoidBackward(ys.View, dys.View, dxs.View, n);
            else ops.TanhBackward(ys.View, dys.View, dxs.View, n);
        }
        else
        {
            using var xs = TestData.Upload(Device, x);
            ops.LeakyReluBackward(xs.View, dys.View, dxs.View, n, Slope);
        }
        TestData.AssertClose(expected, TestData.Download(dxs, n), 2e-3, 1e-4, "dx");
    }
}

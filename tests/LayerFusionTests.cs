using ILGPU.Runtime;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Tests;

/// <summary>
/// A Linear with a fused LeakyReLU against the two layers it replaces (themselves checked by finite
/// differences in <see cref="LayerGradientTests"/>), and which layer stacks the network fuses.
/// </summary>
public sealed class LayerFusionTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const float Slope = 0.2f;

    KernelSet kernels = null!;

    [OneTimeSetUp]
    public void LoadKernels() => kernels = new KernelSet(Device);

    /// <summary>A network of the given layers, as the builders make one.</summary>
    sealed class Stack(KernelSet kernels, ParameterStore store, IReadOnlyList<ILayer> layers)
        : Network(kernels, "test", 8, store, layers);

    [TestCase(1, 1, 1)]
    [TestCase(7, 33, 100)]
    [TestCase(127, 100, 33)]
    public void FusedLinearMatchesLinearThenLeakyRelu(int rows, int inFeatures, int outFeatures)
    {
        var rng = new Random(rows + inFeatures + outFeatures);
        using var store = new ParameterStore();
        var fused = new Linear(kernels, store, "fc", inFeatures, outFeatures);
        Assert.That(fused.TryFuse(new LeakyRelu(kernels, outFeatures, Slope)), Is.True);
        store.Allocate(Device.Accelerator);
        store.AllParameters.CopyFromCPU(TestData.Uniform(rng, store.Parameters.Length));
        // The plain pair shares the fused layer's parameters: a second Linear in its own store, same values.
        using var plainStore = new ParameterStore();
        var linear = new Linear(kernels, plainStore, "fc", inFeatures, outFeatures);
        var activation = new LeakyRelu(kernels, outFeatures, Slope);
        plainStore.Allocate(Device.Accelerator);
        plainStore.AllParameters.CopyFromCPU(store.AllParameters.GetAsArray());

        var x = TestData.Uniform(rng, rows * inFeatures);
        var dy = TestData.Uniform(rng, rows * outFeatures);
        using var xs = TestData.Upload(Device, x);
        using var fusedY = TestData.Poisoned(Device, rows * outFeatures);
        using var fusedDy = TestData.Upload(Device, dy);
        using var fusedDx = TestData.Poisoned(Device, rows * inFeatures);
        using var z = TestData.Poisoned(Device, rows * outFeatures);
        using var y = TestData.Poisoned(Device, rows * outFeatures);
        using var plainDy = TestData.Upload(Device, dy);
        using var dz = TestData.Poisoned(Device, rows * outFeatures);
        using var dx = TestData.Poisoned(Device, rows * inFeatures);

        fused.Forward(xs.View, fusedY.View, rows, ForwardMode.Train);
        fused.Backward(xs.View, fusedY.View, fusedDy.View, fusedDx.View, rows, parameterGradients: true);
        linear.Forward(xs.View, z.View, rows, ForwardMode.Train);
        activation.Forward(z.View, y.View, rows, ForwardMode.Train);
        activation.Backward(z.View, y.View, plainDy.View, dz.View, rows, parameterGradients: true);
        linear.Backward(xs.View, z.View, dz.View, dx.View, rows, parameterGradients: true);

        // The same operations on the same floats: equal to the bit.
        Assert.That(TestData.Download(fusedY, rows * outFeatures), Is.EqualTo(TestData.Download(y, rows * outFeatures)), "y");
        Assert.That(TestData.Download(fusedDx, rows * inFeatures), Is.EqualTo(TestData.Download(dx, rows * inFeatures)), "dx");
        Assert.That(store.Gradient(fused.Weight).GetAsArray(), Is.EqualTo(plainStore.Gradient(linear.Weight).GetAsArray()), "dW");
        // The plain Linear sums db in its weight gradient's multiply: in row order, where the fused pair's launch
        // sums it by a tree on the portable path; the CPU workers both sum in row order, to the same bits.
        var fusedDb = store.Gradient(fused.BiasSlot).GetAsArray();
        var plainDb = plainStore.Gradient(linear.BiasSlot).GetAsArray();
        if (kernels.Bias.Variant == KernelVariant.CpuWorker) Assert.That(fusedDb, Is.EqualTo(plainDb), "db");
        else TestData.AssertClose(plainDb.Select(v => (double)v).ToArray(), fusedDb, 0, 1e-6 * rows, "db");
    }

    [Test]
    public void InputGradientWithoutParameterGradientsMatches()
    {
        const int rows = 7, inFeatures = 5, outFeatures = 6;
        var rng = new Random(5);
        using var store = new ParameterStore();
        var fused = new Linear(kernels, store, "fc", inFeatures, outFeatures);
        fused.TryFuse(new LeakyRelu(kernels, outFeatures, Slope));
        store.Allocate(Device.Accelerator);
        store.AllParameters.CopyFromCPU(TestData.Uniform(rng, store.Parameters.Length));
        var x = TestData.Uniform(rng, rows * inFeatures);
        var dy = TestData.Uniform(rng, rows * outFeatures);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, rows * outFeatures);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, rows * inFeatures);

        fused.Forward(xs.View, ys.View, rows, ForwardMode.Train);
        fused.Backward(xs.View, ys.View, dys.View, dxs.View, rows, parameterGradients: false);

        var y = TestData.Download(ys, rows * outFeatures);
        var w = store.AllParameters.GetAsArray();
        var expected = new double[rows * inFeatures];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outFeatures; o++)
            {
                double dz = y[r * outFeatures + o] > 0 ? dy[r * outFeatures + o] : Slope * dy[r * outFeatures + o];
                for (int i = 0; i < inFeatures; i++) expected[r * inFeatures + i] += dz * w[o * inFeatures + i];
            }
        TestData.AssertClose(expected, TestData.Download(dxs, rows * inFeatures), 1e-5, 1e-5, "dx");
    }

    [Test]
    public void NetworkFusesLeakyReluStraightAfterLinearOrBatchNormOnly()
    {
        using var store = new ParameterStore();
        var first = new Linear(kernels, store, "fc1", 4, 6);
        var norm = new BatchNorm1d(kernels, store, "bn1", 6, 0.8f, 1e-5f);
        var second = new Linear(kernels, store, "fc2", 6, 3);
        var negative = new LeakyRelu(kernels, 3, -0.5f);
        var third = new Linear(kernels, store, "fc3", 3, 2);
        ILayer[] layers =
        [
            first, new LeakyRelu(kernels, 6, Slope), new LeakyRelu(kernels, 6, Slope), norm, new LeakyRelu(kernels, 6, Slope),
            second, negative, third, ElementWiseActivation.Sigmoid(kernels, 2),
        ];
        using var network = new Stack(kernels, store, layers);

        // The second LeakyReLU in a row and the negative slope stay layers of their own.
        Assert.That(network.Layers, Is.EqualTo(new[] { first, layers[2], norm, second, negative, third, layers[8] }));
        Assert.That(first.FusedLeakyReluSlope, Is.EqualTo(Slope));
        Assert.That(norm.FusedLeakyReluSlope, Is.EqualTo(Slope));
        Assert.That(second.FusedLeakyReluSlope, Is.Null);
        Assert.That(third.FusedLeakyReluSlope, Is.Null);
        Assert.That(first.ActivationBackwardTakenOver, Is.False, "a LeakyReLU stands between fc1 and bn1");
        Assert.That(second.InputLeakyReluSlope, Is.EqualTo(Slope), "fc2's input gradient runs bn1's activation backward");
        Assert.That(norm.ActivationBackwardTakenOver, Is.True);
    }

    /// <summary>
    /// Linear → BatchNorm1d → LeakyReLU → Linear, the stable generator's order: BatchNorm writes the activated output
    /// and the Linear after it runs the activation's backward in its input gradient's multiply. Against the same layers
    /// unfused, one launch each, bit for bit (the same operations on the same floats), in every mode, with and without
    /// parameter gradients, on each variant; the running statistics too.
    /// </summary>
    [TestCase(KernelVariant.Portable, true)]
    [TestCase(KernelVariant.Portable, false)]
    [TestCase(KernelVariant.CpuWorker, true)]
    [TestCase(KernelVariant.CpuWorker, false)]
    public void BatchNormWithAFusedLeakyReluMatchesTheLayersUnfused(KernelVariant variant, bool parameterGradients)
    {
        RequireVariant(variant);
        var set = new KernelSet(Device, variant);
        const int rows = 7, inputs = 5, hidden = 33, outputs = 3;
        var rng = new Random(parameterGradients ? 13 : 14);
        using var store = new ParameterStore();
        var first = new Linear(set, store, "fc1", inputs, hidden);
        var norm = new BatchNorm1d(set, store, "bn1", hidden, 0.8f, 1e-5f);
        var second = new Linear(set, store, "fc2", hidden, outputs);
        using var network = new Stack(set, store, [first, norm, new LeakyRelu(set, hidden, Slope), second]);
        Assert.That(network.Layers, Is.EqualTo(new ILayer[] { first, norm, second }));
        Assert.That(second.InputLeakyReluSlope, Is.EqualTo(Slope));
        store.AllParameters.CopyFromCPU(TestData.Uniform(rng, store.Parameters.Length));
        store.AllState.CopyFromCPU(TestData.Uniform(rng, store.State.Length, 0.5f, 1.5f));
        store.AllGradients.CopyFromCPU(new float[store.Parameters.Length]);
        using var plainStore = new ParameterStore();
        var plainFirst = new Linear(set, plainStore, "fc1", inputs, hidden);
        using var plainNorm = new BatchNorm1d(set, plainStore, "bn1", hidden, 0.8f, 1e-5f);
        var activation = new LeakyRelu(set, hidden, Slope);
        var plainSecond = new Linear(set, plainStore, "fc2", hidden, outputs);
        plainStore.Allocate(Device.Accelerator);
        plainStore.AllParameters.CopyFromCPU(store.AllParameters.GetAsArray());
        plainStore.AllState.CopyFromCPU(store.AllState.GetAsArray());
        plainStore.AllGradients.CopyFromCPU(new float[plainStore.Parameters.Length]);

        var x = TestData.Uniform(rng, rows * inputs);
        var dy = TestData.Uniform(rng, rows * outputs);
        using var xs = TestData.Upload(Device, x);
        using var fusedDy = TestData.Upload(Device, dy);
        using var fusedDx = TestData.Poisoned(Device, rows * inputs);
        using var z = TestData.Poisoned(Device, rows * hidden);
        using var normalised = TestData.Poisoned(Device, rows * hidden);
        using var h = TestData.Poisoned(Device, rows * hidden);
        using var y = TestData.Poisoned(Device, rows * outputs);
        using var plainDy = TestData.Upload(Device, dy);
        using var dh = TestData.Poisoned(Device, rows * hidden);
        using var dNormalised = TestData.Poisoned(Device, rows * hidden);
        using var dz = TestData.Poisoned(Device, rows * hidden);
        using var dx = TestData.Poisoned(Device, rows * inputs);

        void Plain(ForwardMode mode)
        {
            plainFirst.Forward(xs.View, z.View, rows, mode);
            plainNorm.Forward(z.View, normalised.View, rows, mode);
            activation.Forward(normalised.View, h.View, rows, mode);
            plainSecond.Forward(h.View, y.View, rows, mode);
        }

        var fusedY = network.Forward(xs.View, rows, ForwardMode.Train);
        network.Backward(xs.View, fusedDy.View, rows, parameterGradients, fusedDx.View);
        Plain(ForwardMode.Train);
        plainSecond.Backward(h.View, y.View, plainDy.View, dh.View, rows, parameterGradients);
        activation.Backward(normalised.View, h.View, dh.View, dNormalised.View, rows, parameterGradients);
        plainNorm.Backward(z.View, normalised.View, dNormalised.View, dz.View, rows, parameterGradients);
        plainFirst.Backward(xs.View, z.View, dz.View, dx.View, rows, parameterGradients);

        Assert.That(fusedY.GetAsArray(), Is.EqualTo(TestData.Download(y, rows * outputs)), "y");
        Assert.That(network.LayerOutput(norm, rows).GetAsArray(), Is.EqualTo(TestData.Download(h, rows * hidden)), "activated output");
        Assert.That(TestData.Download(fusedDx, rows * inputs), Is.EqualTo(TestData.Download(dx, rows * inputs)), "dx");
        Assert.That(store.AllGradients.GetAsArray(), Is.EqualTo(plainStore.AllGradients.GetAsArray()), "gradients");
        Assert.That(store.AllState.GetAsArray(), Is.EqualTo(plainStore.AllState.GetAsArray()), "running statistics");

        foreach (var mode in new[] { ForwardMode.BatchStatistics, ForwardMode.Eval })
        {
            fusedY = network.Forward(xs.View, rows, mode);
            Plain(mode);
            Assert.That(fusedY.GetAsArray(), Is.EqualTo(TestData.Download(y, rows * outputs)), $"y, {mode}");
        }
    }

    /// <summary>
    /// Linear → LeakyReLU → Dropout → Linear, the stable discriminator's order: dropout's backward runs the fused
    /// activation's backward in its launch, and the first Linear's weight gradient's multiply sums its bias gradient.
    /// Against the same layers unfused, bit for bit, with and without parameter gradients, on each variant.
    /// </summary>
    [TestCase(KernelVariant.Portable, true)]
    [TestCase(KernelVariant.Portable, false)]
    [TestCase(KernelVariant.CpuWorker, true)]
    [TestCase(KernelVariant.CpuWorker, false)]
    public void DropoutAfterAFusedLinearRunsItsActivationBackward(KernelVariant variant, bool parameterGradients)
    {
        RequireVariant(variant);
        var set = new KernelSet(Device, variant);
        const int rows = 7, inputs = 5, hidden = 33, outputs = 3;
        const float probability = 0.3f;
        var rng = new Random(parameterGradients ? 23 : 24);
        using var store = new ParameterStore();
        var first = new Linear(set, store, "fc1", inputs, hidden);
        var dropout = new DropoutLayer(set, hidden, probability, rows, index: 0);
        var second = new Linear(set, store, "fc2", hidden, outputs);
        using var network = new Stack(set, store, [first, new LeakyRelu(set, hidden, Slope), dropout, second]);
        Assert.That(network.Layers, Is.EqualTo(new ILayer[] { first, dropout, second }));
        Assert.That(dropout.InputLeakyReluSlope, Is.EqualTo(Slope));
        Assert.That((first.ActivationBackwardTakenOver, first.BiasGradientTakenOver), Is.EqualTo((true, false)));
        store.AllParameters.CopyFromCPU(TestData.Uniform(rng, store.Parameters.Length));
        store.AllGradients.CopyFromCPU(new float[store.Parameters.Length]);
        using var plainStore = new ParameterStore();
        var plainFirst = new Linear(set, plainStore, "fc1", inputs, hidden);
        var activation = new LeakyRelu(set, hidden, Slope);
        using var plainDropout = new DropoutLayer(set, hidden, probability, rows, index: 0);
        var plainSecond = new Linear(set, plainStore, "fc2", hidden, outputs);
        plainStore.Allocate(Device.Accelerator);
        plainStore.AllParameters.CopyFromCPU(store.AllParameters.GetAsArray());
        plainStore.AllGradients.CopyFromCPU(new float[plainStore.Parameters.Length]);

        var context = new ForwardContext(ForwardMode.Train, Seed: 11, Step: 5, Pass: 1);
        var x = TestData.Uniform(rng, rows * inputs);
        var dy = TestData.Uniform(rng, rows * outputs);
        using var xs = TestData.Upload(Device, x);
        using var fusedDy = TestData.Upload(Device, dy);
        using var fusedDx = TestData.Poisoned(Device, rows * inputs);
        using var z = TestData.Poisoned(Device, rows * hidden);
        using var activated = TestData.Poisoned(Device, rows * hidden);
        using var h = TestData.Poisoned(Device, rows * hidden);
        using var y = TestData.Poisoned(Device, rows * outputs);
        using var plainDy = TestData.Upload(Device, dy);
        using var dh = TestData.Poisoned(Device, rows * hidden);
        using var dActivated = TestData.Poisoned(Device, rows * hidden);
        using var dz = TestData.Poisoned(Device, rows * hidden);
        using var dx = TestData.Poisoned(Device, rows * inputs);

        var fusedY = network.Forward(xs.View, rows, context);
        network.Backward(xs.View, fusedDy.View, rows, parameterGradients, fusedDx.View);
        plainFirst.Forward(xs.View, z.View, rows, context);
        activation.Forward(z.View, activated.View, rows, context);
        plainDropout.Forward(activated.View, h.View, rows, context);
        plainSecond.Forward(h.View, y.View, rows, context);
        plainSecond.Backward(h.View, y.View, plainDy.View, dh.View, rows, parameterGradients);
        plainDropout.Backward(activated.View, h.View, dh.View, dActivated.View, rows, parameterGradients);
        activation.Backward(z.View, activated.View, dActivated.View, dz.View, rows, parameterGradients);
        plainFirst.Backward(xs.View, z.View, dz.View, dx.View, rows, parameterGradients);

        var hidden0 = TestData.Download(h, rows * hidden);
        Assert.That(hidden0.Count(v => v == 0f), Is.InRange(1, rows * hidden - 1), "the mask drops some, not all");
        Assert.That(fusedY.GetAsArray(), Is.EqualTo(TestData.Download(y, rows * outputs)), "y");
        Assert.That(TestData.Download(fusedDx, rows * inputs), Is.EqualTo(TestData.Download(dx, rows * inputs)), "dx");
        Assert.That(store.AllGradients.GetAsArray(), Is.EqualTo(plainStore.AllGradients.GetAsArray()), "dW, db");
    }

    /// <summary>
    /// BatchNorm1d's backward without parameter gradients leaves the store's gradients as they were (its column sums,
    /// which dx needs, go elsewhere), with the same dx as with them; with them it writes γ's and β's.
    /// </summary>
    [TestCase(KernelVariant.Portable)]
    [TestCase(KernelVariant.CpuWorker)]
    public void BatchNormBackwardWithoutParameterGradientsLeavesThemAlone(KernelVariant variant)
    {
        RequireVariant(variant);
        var set = new KernelSet(Device, variant);
        const int rows = 7, inputs = 5, hidden = 33;
        var rng = new Random(31);
        using var store = new ParameterStore();
        var linear = new Linear(set, store, "fc1", inputs, hidden);
        var norm = new BatchNorm1d(set, store, "bn1", hidden, 0.8f, 1e-5f);
        using var network = new Stack(set, store, [linear, new LeakyRelu(set, hidden, Slope), norm]);
        store.AllParameters.CopyFromCPU(TestData.Uniform(rng, store.Parameters.Length));
        var poison = Enumerable.Repeat(float.NaN, store.Parameters.Length).ToArray();
        using var xs = TestData.Upload(Device, TestData.Uniform(rng, rows * inputs));
        var dy = TestData.Uniform(rng, rows * hidden);
        using var dys = TestData.Upload(Device, dy);
        using var withoutDx = TestData.Poisoned(Device, rows * inputs);
        using var withDx = TestData.Poisoned(Device, rows * inputs);

        network.Forward(xs.View, rows, ForwardMode.Train);
        store.AllGradients.CopyFromCPU(poison);
        network.Backward(xs.View, dys.View, rows, parameterGradients: false, withoutDx.View);
        Assert.That(store.AllGradients.GetAsArray(), Has.All.NaN, "gradients without parameter gradients");
        dys.View.CopyFromCPU(dy);
        network.Backward(xs.View, dys.View, rows, parameterGradients: true, withDx.View);
        Assert.That(store.Gradient(norm.Gamma).GetAsArray(), Has.None.NaN, "γ's gradient");
        Assert.That(store.Gradient(norm.Beta).GetAsArray(), Has.None.NaN, "β's gradient");
        Assert.That(TestData.Download(withoutDx, rows * inputs), Is.EqualTo(TestData.Download(withDx, rows * inputs)), "dx");
    }

    /// <summary>
    /// Linear → LeakyReLU → BatchNorm1d, the seed generator's order: BatchNorm's backward takes over the fused
    /// activation's backward and the bias gradient (checked bit for bit against the two launches it replaces in
    /// BatchNormTests; the whole generator in GoldenStepTests).
    /// </summary>
    [Test]
    public void BatchNormAfterAFusedLinearTakesOverItsActivationBackward()
    {
        using var store = new ParameterStore();
        var linear = new Linear(kernels, store, "fc1", 4, 6);
        var norm = new BatchNorm1d(kernels, store, "bn1", 6, 0.8f, 1e-5f);
        using var network = new Stack(kernels, store, [linear, new LeakyRelu(kernels, 6, Slope), norm]);

        Assert.That(network.Layers, Is.EqualTo(new ILayer[] { linear, norm }));
        Assert.That(linear.ActivationBackwardTakenOver, Is.True);
    }

    /// <summary>
    /// Linear → LeakyReLU → Linear, D's order: the second Linear's input gradient runs the fused activation's
    /// backward in its multiply's epilogue, the first keeps its bias gradient. Against the same layers unfused, one
    /// launch each, bit for bit (the same operations on the same floats), with and without parameter gradients.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void LinearAfterAFusedLinearRunsItsActivationBackward(bool parameterGradients)
    {
        const int rows = 7, inputs = 5, hidden = 33, outputs = 3;
        var rng = new Random(parameterGradients ? 3 : 4);
        using var store = new ParameterStore();
        var first = new Linear(kernels, store, "fc1", inputs, hidden);
        var second = new Linear(kernels, store, "fc2", hidden, outputs);
        using var network = new Stack(kernels, store, [first, new LeakyRelu(kernels, hidden, Slope), second]);
        Assert.That(network.Layers, Is.EqualTo(new ILayer[] { first, second }));
        Assert.That(second.InputLeakyReluSlope, Is.EqualTo(Slope));
        Assert.That(first.ActivationBackwardTakenOver, Is.True);
        Assert.That(first.BiasGradientTakenOver, Is.False);
        store.AllParameters.CopyFromCPU(TestData.Uniform(rng, store.Parameters.Length));
        using var plainStore = new ParameterStore();
        var plainFirst = new Linear(kernels, plainStore, "fc1", inputs, hidden);
        var activation = new LeakyRelu(kernels, hidden, Slope);
        var plainSecond = new Linear(kernels, plainStore, "fc2", hidden, outputs);
        plainStore.Allocate(Device.Accelerator);
        plainStore.AllParameters.CopyFromCPU(store.AllParameters.GetAsArray());
        store.AllGradients.CopyFromCPU(new float[store.Parameters.Length]);
        plainStore.AllGradients.CopyFromCPU(new float[plainStore.Parameters.Length]);

        var x = TestData.Uniform(rng, rows * inputs);
        var dy = TestData.Uniform(rng, rows * outputs);
        using var xs = TestData.Upload(Device, x);
        using var fusedDy = TestData.Upload(Device, dy);
        using var fusedDx = TestData.Poisoned(Device, rows * inputs);
        using var z = TestData.Poisoned(Device, rows * hidden);
        using var h = TestData.Poisoned(Device, rows * hidden);
        using var y = TestData.Poisoned(Device, rows * outputs);
        using var plainDy = TestData.Upload(Device, dy);
        using var dh = TestData.Poisoned(Device, rows * hidden);
        using var dz = TestData.Poisoned(Device, rows * hidden);
        using var dx = TestData.Poisoned(Device, rows * inputs);

        var fusedY = network.Forward(xs.View, rows, ForwardMode.Train);
        network.Backward(xs.View, fusedDy.View, rows, parameterGradients, fusedDx.View);
        plainFirst.Forward(xs.View, z.View, rows, ForwardMode.Train);
        activation.Forward(z.View, h.View, rows, ForwardMode.Train);
        plainSecond.Forward(h.View, y.View, rows, ForwardMode.Train);
        plainSecond.Backward(h.View, y.View, plainDy.View, dh.View, rows, parameterGradients);
        activation.Backward(z.View, h.View, dh.View, dz.View, rows, parameterGradients);
        plainFirst.Backward(xs.View, z.View, dz.View, dx.View, rows, parameterGradients);

        Assert.That(fusedY.GetAsArray(), Is.EqualTo(TestData.Download(y, rows * outputs)), "y");
        Assert.That(TestData.Download(fusedDx, rows * inputs), Is.EqualTo(TestData.Download(dx, rows * inputs)), "dx");
        Assert.That(store.AllGradients.GetAsArray(), Is.EqualTo(plainStore.AllGradients.GetAsArray()), "dW, db");
    }
}

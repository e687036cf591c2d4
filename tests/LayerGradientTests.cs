using ILGPU.Runtime;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Tests;

/// <summary>
/// Every layer's backward against central finite differences of its own forward, through the kernels: the
/// gradient of L = Σ dy·y with respect to each input and parameter, in float32 with h large enough that
/// rounding stays far below the tolerance.
/// </summary>
public sealed class LayerGradientTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const int Rows = 7, In = 5, Out = 6;
    const float H = 1e-2f;

    /// <summary>A fixed dropout mask: every forward of the difference quotients draws the same one.</summary>
    static readonly ForwardContext MaskedPass = new(ForwardMode.Train, Seed: 5, Step: 3, Pass: 1);

    KernelSet kernels = null!;

    [OneTimeSetUp]
    public void LoadKernels() => kernels = new KernelSet(Device);

    public static IEnumerable<string> LayerKinds() => ["linear", "leaky_relu", "sigmoid", "tanh", "batch_norm", "dropout"];

    ILayer Make(string layerKind, ParameterStore store) => layerKind switch
    {
        "linear" => new Linear(kernels, store, "fc", In, Out),
        "leaky_relu" => new LeakyRelu(kernels, In, 0.2f),
        "sigmoid" => ElementWiseActivation.Sigmoid(kernels, In),
        "tanh" => ElementWiseActivation.Tanh(kernels, In),
        "batch_norm" => new BatchNorm1d(kernels, store, "bn", In, 0.8f, 1e-5f),
        "dropout" => new DropoutLayer(kernels, In, 0.4f, Rows, index: 0),
        _ => throw new ArgumentException(layerKind),
    };

    [TestCaseSource(nameof(LayerKinds))]
    public void BackwardMatchesFiniteDifferences(string layerKind)
    {
        var rng = new Random(layerKind.Length);
        using var store = new ParameterStore();
        var layer = Make(layerKind, store);
        using var layerBuffers = layer as IDisposable;
        store.Allocate(Device.Accelerator);
        var parameters = TestData.Uniform(rng, store.Parameters.Length, -1f, 1f);
        if (parameters.Length > 0) store.AllParameters.CopyFromCPU(parameters);
        if (store.State.Length > 0) store.AllState.CopyFromCPU(TestData.Uniform(rng, store.State.Length, 0.5f, 1.5f));

        // Inputs away from LeakyReLU's kink; BatchNorm gets a mean and scale of its own per column.
        var x = TestData.Uniform(rng, Rows * layer.In, -2f, 2f).Select(v => v + MathF.CopySign(0.1f, v)).ToArray();
        var dy = TestData.Uniform(rng, Rows * layer.Out);
        using var xs = TestData.Upload(Device, x);
        using var ys = TestData.Poisoned(Device, Rows * layer.Out);
        using var dys = TestData.Upload(Device, dy);
        using var dxs = TestData.Poisoned(Device, Rows * layer.In);

        double Loss(float[] input, float[] parameterValues)
        {
            using var inputs = TestData.Upload(Device, input);
            if (parameterValues.Length > 0) store.AllParameters.CopyFromCPU(parameterValues);
            layer.Forward(inputs.View, ys.View, Rows, MaskedPass);
            var y = TestData.Download(ys, Rows * layer.Out);
            return y.Select((v, i) => (double)v * dy[i]).Sum();
        }

        Loss(x, parameters);
        layer.Backward(xs.View, ys.View, dys.View, dxs.View, Rows, parameterGradients: true);
        var dx = TestData.Download(dxs, Rows * layer.In);
        var parameterGradients = store.Parameters.Length > 0 ? store.AllGradients.GetAsArray() : [];

        TestData.AssertClose(FiniteDifference.Gradient(x, H, input => Loss(input, parameters)), dx, 2e-2, 2e-3, $"{layerKind} dx");
        var expectedDp = FiniteDifference.Gradient(parameters, H, values => Loss(x, values));
        TestData.AssertClose(expectedDp, parameterGradients, 2e-2, 2e-3, $"{layerKind} parameter gradients");
    }
}

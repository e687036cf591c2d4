using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Nn;

/// <summary>
/// nn.Dropout(p): inverted dropout in Train and BatchStatistics mode, the identity in Eval mode. Its mask is
/// that of the forward context's seed and of <see cref="RandomStreams.DropoutStream"/>(step, pass, the layer's
/// index among its network's dropout layers), so every pass of a step draws its own mask, reproducibly; the
/// backward pass uses the last forward's mask, and runs the backward of a LeakyReLU fused into the layer before it
/// in the same launch when it takes that over (<see cref="TryTakeOverActivationOf"/>).
/// </summary>
public sealed class DropoutLayer : ILayer, IDisposable
{
    readonly KernelSet kernels;
    readonly float probability;
    /// <summary>The layer's place among its network's dropout layers, which names its masks.</summary>
    readonly int index;
    readonly MemoryBuffer1D<float, ILGPU.Stride1D.Dense> mask;

    /// <summary>Dropout with <paramref name="probability"/> over <paramref name="features"/>, the <paramref name="index"/>th of its network.</summary>
    public DropoutLayer(KernelSet kernels, int features, float probability, int maxRows, int index)
    {
        if (!(probability >= 0f && probability < 1f))
            throw new ArgumentOutOfRangeException(nameof(probability), probability, "a dropout probability is in [0, 1)");
        this.kernels = kernels;
        this.probability = probability;
        this.index = index;
        In = Out = features;
        mask = kernels.Device.Accelerator.Allocate1D<float>((long)maxRows * features);
    }

    /// <inheritdoc/>
    public int In { get; }
    /// <inheritdoc/>
    public int Out { get; }

    /// <summary>The slope of the LeakyReLU fused into the layer before this one whose backward this one runs; null when it runs none.</summary>
    public float? InputLeakyReluSlope { get; private set; }

    /// <summary>
    /// Takes over the backward of the LeakyReLU fused into <paramref name="previous"/>, the layer before this one,
    /// when no other layer took it over: dx = leaky'(x) ⊙ (dy·mask), x that activation's output, in one launch where
    /// dropout's and the activation's backward took two. A Linear before keeps its bias gradient, which its weight
    /// gradient's multiply then sums.
    /// </summary>
    public bool TryTakeOverActivationOf(IFusedLeakyRelu previous)
    {
        if (InputLeakyReluSlope is not null) return false;
        InputLeakyReluSlope = IFusedLeakyRelu.TakeOverActivationBackward(previous, In);
        return InputLeakyReluSlope is not null;
    }

    /// <inheritdoc/>
    public void Initialize(UniformSource source) { }

    /// <inheritdoc/>
    public void Forward(ArrayView<float> x, ArrayView<float> y, int rows, ForwardContext context)
    {
        float p = context.Mode == ForwardMode.Eval ? 0f : probability;
        if (context.StepState.Length > 0)
            kernels.Dropout.StepForward(x, y, mask.View, rows * Out, p, context.Seed, context.StepState,
                RandomStreams.DropoutStreamBase(context.Pass, index), RandomStreams.DropoutStepShift);
        else
            kernels.Dropout.Forward(x, y, mask.View, rows * Out, p, context.Seed, RandomStreams.DropoutStream(context.Step, context.Pass, index));
    }

    /// <inheritdoc/>
    public void Backward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows,
        bool parameterGradients)
    {
        if (dx.Length > 0)
            kernels.Dropout.Backward(dy, mask.View, dx, rows * Out, InputLeakyReluSlope is null ? default : x, InputLeakyReluSlope);
    }

    /// <summary>Frees the mask.</summary>
    public void Dispose() => mask.Dispose();
}

using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Nn;

/// <summary>
/// Train: BatchNorm normalises by the batch's statistics and updates its running ones. BatchStatistics: the
/// same normalisation without the update, for sample grids drawn in train mode as the seed does, which must
/// not change a run. Eval: the running statistics.
/// </summary>
public enum ForwardMode
{
    /// <summary>Training: batch statistics, running statistics updated, dropout on.</summary>
    Train,
    /// <summary>Batch statistics without touching the running ones, dropout off.</summary>
    BatchStatistics,
    /// <summary>Running statistics, dropout off.</summary>
    Eval,
}

/// <summary>
/// What one forward pass of a network is: its mode, and the (seed, step, pass) that name the dropout masks it
/// draws, so that every pass of a step draws masks of its own, reproducibly. A mode alone names no masks: the
/// context of a network without dropout. Batches: the rows are that many batches of equal size one after another,
/// which BatchNorm normalises each by its own statistics, as that many passes would, in one pass's launches.
/// StepState: when given, the device's step state (<see cref="IlgpuGan.Kernels.StepState"/>) that holds Step, which
/// dropout then reads there, so its launches are the same at every step.
/// </summary>
public readonly record struct ForwardContext(ForwardMode Mode, ulong Seed = 0, long Step = 0, int Pass = 0, int Batches = 1,
    ArrayView<long> StepState = default)
{
    /// <summary>A context of <paramref name="mode"/> alone.</summary>
    public static implicit operator ForwardContext(ForwardMode mode) => new(mode);
}

/// <summary>
/// One step of a network over a batch of rows: x [rows, In] → y [rows, Out]. Backward turns dy into dx (when
/// dx is not empty) and into the layer's parameter gradients (when asked), from the x and y of the forward;
/// it may overwrite dy. Initialize gives the layer's tensors PyTorch's default initial values.
/// </summary>
public interface ILayer
{
    /// <summary>Input features per row.</summary>
    int In { get; }
    /// <summary>Output features per row.</summary>
    int Out { get; }
    /// <summary>Sets the layer's parameters and state to their initial values, drawn from <paramref name="source"/>.</summary>
    void Initialize(UniformSource source);
    /// <summary>y [rows, Out] from x [rows, In].</summary>
    void Forward(ArrayView<float> x, ArrayView<float> y, int rows, ForwardContext context);
    /// <summary>dx from dy, given the forward's x and y; with <paramref name="parameterGradients"/>, the parameters' gradients too.</summary>
    void Backward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows,
        bool parameterGradients);
}

/// <summary>
/// A layer whose forward ends in a fused LeakyReLU (a Linear's multiply, a BatchNorm's normalising pass): its output
/// is the activated one, and the activation's backward runs in the layer's own backward unless the layer after it
/// takes it over, running it in a launch of its own (<see cref="Linear.TryTakeOverInputActivation"/>,
/// <see cref="DropoutLayer.TryTakeOverActivationOf"/>).
/// </summary>
public interface IFusedLeakyRelu : ILayer
{
    /// <summary>The slope of the fused LeakyReLU, or null when the layer has none.</summary>
    float? FusedLeakyReluSlope { get; }

    /// <summary>True once the layer after this one runs the fused activation's backward: dy then arrives as the pre-activation gradient.</summary>
    bool ActivationBackwardTakenOver { get; }

    /// <summary>Hands the fused activation's backward to the layer after this one; a Linear's bias gradient goes with it when asked.</summary>
    void HandOverActivationBackward(bool withBiasGradient);

    /// <summary>
    /// Hands <paramref name="previous"/>'s fused activation's backward (without a bias gradient) to the layer after
    /// it, of <paramref name="features"/> inputs, and returns its slope; null, handing nothing over, when it has none
    /// or another layer took it.
    /// </summary>
    static float? TakeOverActivationBackward(IFusedLeakyRelu previous, int features)
    {
        if (previous.FusedLeakyReluSlope is not { } slope || previous.ActivationBackwardTakenOver || previous.Out != features)
            return null;
        previous.HandOverActivationBackward(withBiasGradient: false);
        return slope;
    }
}

/// <summary>
/// The rows of the last forward pass, as one or more equal batches: a backward differentiates all of them or the
/// last batch alone (G's pass over both of a step's z, whose second batch alone is trained).
/// </summary>
public readonly record struct ForwardBatches(int Rows, int Batches)
{
    /// <summary>Which batch a backward over <paramref name="rows"/> rows differentiates: 0 for the whole pass, else the last.</summary>
    public int BackwardBatch(int rows, string owner) =>
        rows == Rows ? 0
        : rows * Batches == Rows ? Batches - 1
        : throw new ArgumentOutOfRangeException(nameof(rows), $"{owner}: {rows} rows are neither the last forward's {Rows} nor its last batch");
}

/// <summary>
/// nn.Linear: y = x·Wᵀ + b with W [out, in], PyTorch's layout. A LeakyReLU that follows it can be fused
/// (<see cref="TryFuse"/>): then y = leaky_relu(x·Wᵀ + b) comes out of the multiply's epilogue, and the
/// activation's backward shares a launch with the bias gradient, or with the input gradient of the Linear after it
/// (<see cref="TryTakeOverInputActivation"/>).
/// </summary>
public sealed class Linear : IFusedLeakyRelu
{
    readonly KernelSet kernels;
    readonly ParameterStore store;

    /// <summary>A Linear layer <paramref name="inFeatures"/> → <paramref name="outFeatures"/>, its weight and bias named after <paramref name="name"/> in <paramref name="store"/>.</summary>
    public Linear(KernelSet kernels, ParameterStore store, string name, int inFeatures, int outFeatures)
    {
        this.kernels = kernels;
        this.store = store;
        In = inFeatures;
        Out = outFeatures;
        Weight = store.Parameters.Add($"{name}.weight", outFeatures, inFeatures);
        BiasSlot = store.Parameters.Add($"{name}.bias", outFeatures);
    }

    /// <inheritdoc/>
    public int In { get; }
    /// <inheritdoc/>
    public int Out { get; }
    /// <summary>The weight, [Out, In].</summary>
    public TensorSlot Weight { get; }
    /// <summary>The bias, [Out].</summary>
    public TensorSlot BiasSlot { get; }
    /// <summary>The slope of the fused LeakyReLU, or null when the layer is plain.</summary>
    public float? FusedLeakyReluSlope { get; private set; }

    /// <summary>
    /// True once the layer after this one has taken over the fused activation's backward: dy then arrives as the
    /// pre-activation gradient. A BatchNorm after it takes the bias gradient too
    /// (<see cref="BatchNorm1d.TryTakeOverBackwardOf"/>), a Linear does not (<see cref="TryTakeOverInputActivation"/>).
    /// </summary>
    public bool ActivationBackwardTakenOver { get; private set; }

    /// <summary>True once the BatchNorm after this layer writes its bias gradient.</summary>
    public bool BiasGradientTakenOver { get; private set; }

    /// <inheritdoc/>
    public void HandOverActivationBackward(bool withBiasGradient)
    {
        ActivationBackwardTakenOver = true;
        BiasGradientTakenOver = withBiasGradient;
    }

    /// <summary>
    /// The slope of the LeakyReLU fused into the layer before this one, whose backward this layer's input gradient
    /// runs in its multiply's epilogue (dX = (dY·W) ⊙ leaky'(x), x that activation's output); null when it does not.
    /// </summary>
    public float? InputLeakyReluSlope { get; private set; }

    /// <summary>
    /// Takes over the backward of the LeakyReLU fused into <paramref name="previous"/>, the layer before this one (a
    /// Linear, or a BatchNorm before its activation), when it has one that no other layer took over: one launch fewer
    /// wherever the input gradient is taken.
    /// </summary>
    public bool TryTakeOverInputActivation(IFusedLeakyRelu previous)
    {
        if (InputLeakyReluSlope is not null) return false;
        InputLeakyReluSlope = IFusedLeakyRelu.TakeOverActivationBackward(previous, In);
        return InputLeakyReluSlope is not null;
    }

    /// <summary>
    /// Takes over the LeakyReLU that follows this layer, when it can: once, and for a slope ≥ 0, where the
    /// activated output alone tells where the pre-activation was positive.
    /// </summary>
    public bool TryFuse(LeakyRelu activation)
    {
        if (FusedLeakyReluSlope is not null || !(activation.Slope >= 0f) || activation.In != Out) return false;
        FusedLeakyReluSlope = activation.Slope;
        return true;
    }

    /// <summary>
    /// nn.Linear's reset_parameters: kaiming_uniform_(a=√5) for W and U(±1/√fan_in) for b both come to
    /// U(−1/√fan_in, 1/√fan_in); W draws first.
    /// </summary>
    public void Initialize(UniformSource source)
    {
        double bound = 1.0 / Math.Sqrt(In);
        foreach (var slot in new[] { Weight, BiasSlot })
        {
            var u = source.Next(slot.Length);
            var values = new float[slot.Length];
            for (int i = 0; i < values.Length; i++) values[i] = (float)(bound * (2.0 * u[i] - 1.0));
            store.Parameter(slot).CopyFromCPU(values);
        }
    }

    /// <inheritdoc/>
    public void Forward(ArrayView<float> x, ArrayView<float> y, int rows, ForwardContext context) =>
        kernels.Gemm.Multiply(x, false, store.Parameter(Weight), true, y, rows, Out, In,
            bias: store.Parameter(BiasSlot), leakyReluSlope: FusedLeakyReluSlope);

    /// <inheritdoc/>
    public void Backward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows,
        bool parameterGradients)
    {
        // With a fused activation dy becomes the pre-activation gradient in place, with the bias gradient, unless
        // the next layer made it so. Otherwise the weight gradient's multiply sums dy's rows into the bias gradient,
        // unless a BatchNorm after this layer wrote it.
        bool activationHere = FusedLeakyReluSlope is not null && !ActivationBackwardTakenOver;
        if (activationHere)
        {
            if (parameterGradients)
                kernels.Bias.BackwardThroughLeakyRelu(y, dy, store.Gradient(BiasSlot), rows, Out, FusedLeakyReluSlope!.Value);
            else
                kernels.Activations.LeakyReluBackward(y, dy, dy, rows * Out, FusedLeakyReluSlope!.Value);
        }
        bool biasInGemm = !activationHere && !BiasGradientTakenOver;
        if (parameterGradients)
            kernels.Gemm.Multiply(dy, true, x, false, store.Gradient(Weight), Out, In, rows,
                rowSums: biasInGemm ? store.Gradient(BiasSlot) : default);
        // x is the previous layer's activated output when this layer runs its activation's backward.
        if (dx.Length > 0)
            kernels.Gemm.Multiply(dy, false, store.Parameter(Weight), false, dx, rows, In, Out,
                leakyReluSlope: InputLeakyReluSlope, leakyReluOutput: InputLeakyReluSlope is null ? default : x);
    }

    /// <summary>The multiplies of <see cref="Forward"/> and <see cref="Backward"/> over <paramref name="rows"/> rows, as they launch them.</summary>
    public (GemmProblem Forward, GemmProblem InputGradient, GemmProblem WeightGradient) Gemms(int rows) =>
        (new(false, true, rows, Out, In), new(false, false, rows, In, Out), new(true, false, Out, In, rows));
}

/// <summary>One multiply C[M, N] = op(A)·op(B) over K, as <see cref="Gemm.Multiply"/> takes it (bench times them).</summary>
public readonly record struct GemmProblem(bool TransposeA, bool TransposeB, int M, int N, int K)
{
    /// <summary>nn, nt, tn or tt, as the gemm_xx kernels are named.</summary>
    public string Op => (TransposeA ? "t" : "n") + (TransposeB ? "t" : "n");
    /// <summary>The floating-point operations of the product.</summary>
    public double Flops => 2.0 * M * N * K;
}

/// <summary>F.leaky_relu(x, slope).</summary>
public sealed class LeakyRelu(KernelSet kernels, int features, float slope) : ILayer
{
    /// <inheritdoc/>
    public int In => features;
    /// <inheritdoc/>
    public int Out => features;
    /// <summary>The slope for negative inputs.</summary>
    public float Slope => slope;

    /// <inheritdoc/>
    public void Initialize(UniformSource source) { }

    /// <inheritdoc/>
    public void Forward(ArrayView<float> x, ArrayView<float> y, int rows, ForwardContext context) =>
        kernels.Activations.LeakyReluForward(x, y, rows * features, slope);

    /// <inheritdoc/>
    public void Backward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows,
        bool parameterGradients)
    {
        if (dx.Length > 0) kernels.Activations.LeakyReluBackward(x, dy, dx, rows * features, slope);
    }
}

/// <summary>
/// An element-wise activation whose derivative follows from its output, as torch.sigmoid's and torch.tanh's
/// backward take it: the forward kernel (x, y, n) and the backward kernel (y, dy, dx, n).
/// </summary>
public sealed class ElementWiseActivation : ILayer
{
    readonly Action<ArrayView<float>, ArrayView<float>, int> forward;
    readonly Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int> backward;

    ElementWiseActivation(string function, int features, Action<ArrayView<float>, ArrayView<float>, int> forward,
        Action<ArrayView<float>, ArrayView<float>, ArrayView<float>, int> backward)
    {
        Function = function;
        In = Out = features;
        this.forward = forward;
        this.backward = backward;
    }

    /// <summary>torch.sigmoid.</summary>
    public static ElementWiseActivation Sigmoid(KernelSet kernels, int features) =>
        new("Sigmoid", features, kernels.Activations.SigmoidForward, kernels.Activations.SigmoidBackward);

    /// <summary>torch.tanh.</summary>
    public static ElementWiseActivation Tanh(KernelSet kernels, int features) =>
        new("Tanh", features, kernels.Activations.TanhForward, kernels.Activations.TanhBackward);

    /// <summary>The function's name as PyTorch's module and ONNX's operator both call it.</summary>
    public string Function { get; }

    /// <inheritdoc/>
    public int In { get; }
    /// <inheritdoc/>
    public int Out { get; }

    /// <inheritdoc/>
    public void Initialize(UniformSource source) { }

    /// <inheritdoc/>
    public void Forward(ArrayView<float> x, ArrayView<float> y, int rows, ForwardContext context) => forward(x, y, rows * Out);

    /// <inheritdoc/>
    public void Backward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows,
        bool parameterGradients)
    {
        if (dx.Length > 0) backward(y, dy, dx, rows * Out);
    }
}

/// <summary>
/// nn.BatchNorm1d(features, eps, momentum) with affine γ, β. PyTorch's momentum is the weight of the NEW
/// batch statistic: the seed's 0.8 means running = 0.2·running + 0.8·batch. A LeakyReLU that follows it can be fused
/// (<see cref="TryFuse"/>): the normalising pass then writes the activated output, and a Linear after it runs the
/// activation's backward in its input gradient's multiply.
/// </summary>
public sealed class BatchNorm1d : IFusedLeakyRelu, IDisposable
{
    readonly KernelSet kernels;
    readonly ParameterStore store;
    readonly float momentum, eps;
    readonly MemoryBuffer1D<float, ILGPU.Stride1D.Dense> savedMean, savedInvStd;
    /// <summary>
    /// Where a backward without parameter gradients writes the γ, β and taken-over bias sums the kernel forms anyway
    /// (dx needs them), so that the store's gradients stay as they are.
    /// </summary>
    readonly MemoryBuffer1D<float, ILGPU.Stride1D.Dense> discardedSums;
    Linear? activationOwner;
    ForwardBatches lastForward;

    /// <summary>The most batches one forward pass may hold: a training step's two passes of G.</summary>
    public const int MaxBatches = 2;

    /// <summary>BatchNorm1d over <paramref name="features"/>, its γ, β and running statistics named after <paramref name="name"/> in <paramref name="store"/>.</summary>
    public BatchNorm1d(KernelSet kernels, ParameterStore store, string name, int features, float momentum, float eps)
    {
        this.kernels = kernels;
        this.store = store;
        this.momentum = momentum;
        this.eps = eps;
        In = Out = features;
        Gamma = store.Parameters.Add($"{name}.weight", features);
        Beta = store.Parameters.Add($"{name}.bias", features);
        RunningMean = store.State.Add($"{name}.running_mean", features);
        RunningVar = store.State.Add($"{name}.running_var", features);
        savedMean = kernels.Device.Accelerator.Allocate1D<float>((long)MaxBatches * features);
        savedInvStd = kernels.Device.Accelerator.Allocate1D<float>((long)MaxBatches * features);
        discardedSums = kernels.Device.Accelerator.Allocate1D<float>(3L * features);
    }

    /// <inheritdoc/>
    public int In { get; }
    /// <inheritdoc/>
    public int Out { get; }
    /// <summary>γ, [features].</summary>
    public TensorSlot Gamma { get; }
    /// <summary>β, [features].</summary>
    public TensorSlot Beta { get; }
    /// <summary>The running mean, [features].</summary>
    public TensorSlot RunningMean { get; }
    /// <summary>The running variance, [features].</summary>
    public TensorSlot RunningVar { get; }
    /// <inheritdoc/>
    public float? FusedLeakyReluSlope { get; private set; }
    /// <inheritdoc/>
    public bool ActivationBackwardTakenOver { get; private set; }

    /// <summary>
    /// Takes over the LeakyReLU that follows this layer, when it can: once, and for a slope ≥ 0, where the activated
    /// output alone tells where the normalised value was positive.
    /// </summary>
    public bool TryFuse(LeakyRelu activation)
    {
        if (FusedLeakyReluSlope is not null || !(activation.Slope >= 0f) || activation.In != Out) return false;
        FusedLeakyReluSlope = activation.Slope;
        return true;
    }

    /// <summary>BatchNorm has no bias of its own to hand over: its β gradient stays its own.</summary>
    public void HandOverActivationBackward(bool withBiasGradient) => ActivationBackwardTakenOver = true;

    /// <summary>nn.BatchNorm1d's reset_parameters and reset_running_stats: γ = 1, β = 0, running mean 0, running variance 1.</summary>
    public void Initialize(UniformSource source)
    {
        var ones = new float[Out];
        Array.Fill(ones, 1f);
        // Zeros copied, not MemSetToZero: filling a sub-view of a buffer throws a CLException on PoCL 6.0.
        var zeros = new float[Out];
        store.Parameter(Gamma).CopyFromCPU(ones);
        store.Parameter(Beta).CopyFromCPU(zeros);
        store.StateTensor(RunningMean).CopyFromCPU(zeros);
        store.StateTensor(RunningVar).CopyFromCPU(ones);
    }

    /// <inheritdoc/>
    public void Forward(ArrayView<float> x, ArrayView<float> y, int rows, ForwardContext context)
    {
        var mode = context.Mode;
        int batches = context.Batches;
        if (batches < 1 || batches > MaxBatches || rows % batches != 0)
            throw new ArgumentOutOfRangeException(nameof(context), $"{rows} rows as {batches} equal batches (at most {MaxBatches})");
        lastForward = new(rows, batches);
        if (mode != ForwardMode.Eval)
            // Momentum 0 keeps the running statistics exactly as they are.
            kernels.BatchNorm.TrainForward(x, y, store.Parameter(Gamma), store.Parameter(Beta), savedMean.View,
                savedInvStd.View, store.StateTensor(RunningMean), store.StateTensor(RunningVar), rows / batches, Out,
                mode == ForwardMode.Train ? momentum : 0f, eps, batches, FusedLeakyReluSlope);
        else
            kernels.BatchNorm.EvalForward(x, y, store.Parameter(Gamma), store.Parameter(Beta),
                store.StateTensor(RunningMean), store.StateTensor(RunningVar), rows, Out, eps, FusedLeakyReluSlope);
    }

    /// <summary>
    /// Takes over the backward of the LeakyReLU fused into the Linear before this layer, and that Linear's bias
    /// gradient, when there is one: BatchNorm's backward then writes the pre-activation gradient in the same
    /// launch and pass (<see cref="Kernels.BatchNorm.BackwardThroughLeakyRelu"/>).
    /// </summary>
    public bool TryTakeOverBackwardOf(Linear linear)
    {
        if (activationOwner is not null || linear.FusedLeakyReluSlope is null || linear.ActivationBackwardTakenOver
            || linear.Out != In) return false;
        activationOwner = linear;
        linear.HandOverActivationBackward(withBiasGradient: true);
        return true;
    }

    /// <remarks>The backward's column sums are the γ and β gradients (and the bias gradient of a Linear whose
    /// activation backward it took over); without parameter gradients they go to a buffer of the layer's own.</remarks>
    public void Backward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int rows,
        bool parameterGradients)
    {
        int batch = lastForward.BackwardBatch(rows, nameof(BatchNorm1d));
        var mean = savedMean.View.SubView((long)batch * Out, Out);
        var invStd = savedInvStd.View.SubView((long)batch * Out, Out);
        (ArrayView<float> dgamma, ArrayView<float> dbeta) = parameterGradients
            ? (store.Gradient(Gamma), store.Gradient(Beta))
            : (discardedSums.View.SubView(0, Out).AsContiguous(), discardedSums.View.SubView(Out, Out).AsContiguous());
        // The fused activation's backward, when no layer after this one took it over: y > 0 where the normalised value was.
        if (FusedLeakyReluSlope is { } ownSlope && !ActivationBackwardTakenOver)
            kernels.Activations.LeakyReluBackward(y, dy, dy, rows * Out, ownSlope);
        if (activationOwner is { FusedLeakyReluSlope: { } slope } linear)
            kernels.BatchNorm.BackwardThroughLeakyRelu(x, dy, store.Parameter(Gamma), mean, invStd, dx, dgamma, dbeta,
                parameterGradients ? store.Gradient(linear.BiasSlot) : discardedSums.View.SubView(2L * Out, Out), rows, Out, slope);
        else
            kernels.BatchNorm.Backward(x, dy, store.Parameter(Gamma), mean, invStd, dx, dgamma, dbeta, rows, Out);
    }

    /// <summary>Frees the saved statistics.</summary>
    public void Dispose()
    {
        savedMean.Dispose();
        savedInvStd.Dispose();
        discardedSums.Dispose();
    }
}

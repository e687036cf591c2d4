namespace IlgpuGan.Kernels;

/// <summary>
/// Every op family, each loaded once for one device: what a model needs to run. The variant applies to every op
/// that has one, so a whole step can run the portable kernels on the CPU accelerator, as a GPU would.
/// </summary>
public sealed class KernelSet(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
{
    /// <summary>The device every op is loaded on.</summary>
    public ComputeDevice Device { get; } = device;
    /// <summary>Matrix products, with a Linear layer's epilogues.</summary>
    public Gemm Gemm { get; } = new(device, variant);
    /// <summary>Bias gradients.</summary>
    public Bias Bias { get; } = new(device, variant);
    /// <summary>LeakyReLU, sigmoid and tanh, forward and backward.</summary>
    public Activations Activations { get; } = new(device, variant);
    /// <summary>BatchNorm1d, forward and backward.</summary>
    public BatchNorm BatchNorm { get; } = new(device, variant);
    /// <summary>Binary cross-entropy and its gradient.</summary>
    public Bce Bce { get; } = new(device);
    /// <summary>PyTorch's Adam step.</summary>
    public Adam Adam { get; } = new(device, variant);
    /// <summary>The exponential moving average of parameters.</summary>
    public ExponentialAverage ExponentialAverage { get; } = new(device, variant);
    /// <summary>Counter-based Gaussian noise and permutations.</summary>
    public DeviceRandom Random { get; } = new(device);
    /// <summary>Inverted dropout, forward and backward.</summary>
    public Dropout Dropout { get; } = new(device, variant);
    /// <summary>Row gathers: batches assembled from a shuffled index.</summary>
    public Gather Gather { get; } = new(device, variant);
    /// <summary>A training step's noise and real batch in one launch.</summary>
    public StepInputs StepInputs { get; } = new(device, variant);
    /// <summary>Softmax cross-entropy, for the classifier the measures use.</summary>
    public SoftmaxCrossEntropy SoftmaxCrossEntropy { get; } = new(device);
    /// <summary>Row norms, Parzen sums and column centring, for the measures.</summary>
    public Statistics Statistics { get; } = new(device);
}

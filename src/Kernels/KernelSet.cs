namespace IlgpuGan.Kernels;

/// <summary>
/// Every op family, each loaded once for one device: what a model needs to run. The variant applies to every op
/// that has one, so a whole step can run the portable kernels on the CPU accelerator, as a GPU would.
/// </summary>
public sealed class KernelSet(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
{
    public ComputeDevice Device { get; } = device;
    public Gemm Gemm { get; } = new(device, variant);
    public Bias Bias { get; } = new(device, variant);
    public Activations Activations { get; } = new(device, variant);
    public BatchNorm BatchNorm { get; } = new(device, variant);
    public Bce Bce { get; } = new(device);
    public Adam Adam { get; } = new(device, variant);
    public ExponentialAverage ExponentialAverage { get; } = new(device, variant);
    public DeviceRandom Random { get; } = new(device);
    public Dropout Dropout { get; } = new(device, variant);
    public Gather Gather { get; } = new(device, variant);
    public StepInputs StepInputs { get; } = new(device, variant);
    public SoftmaxCrossEntropy SoftmaxCrossEntropy { get; } = new(device);
    public Statistics Statistics { get; } = new(device);
}

namespace IlgpuGan.Kernels;

/// <summary>Every op family, each loaded once for one device: what a model needs to run.</summary>
public sealed class KernelSet(ComputeDevice device)
{
    public ComputeDevice Device { get; } = device;
    public Gemm Gemm { get; } = new(device);
    public Bias Bias { get; } = new(device);
    public Activations Activations { get; } = new(device);
    public BatchNorm BatchNorm { get; } = new(device);
    public Bce Bce { get; } = new(device);
    public Adam Adam { get; } = new(device);
    public ExponentialAverage ExponentialAverage { get; } = new(device);
    public DeviceRandom Random { get; } = new(device);
    public Dropout Dropout { get; } = new(device);
    public Gather Gather { get; } = new(device);
    public SoftmaxCrossEntropy SoftmaxCrossEntropy { get; } = new(device);
    public Statistics Statistics { get; } = new(device);
}

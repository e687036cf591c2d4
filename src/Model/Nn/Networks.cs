using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Nn;

/// <summary>
/// The seed's generator: z → [Linear → LeakyReLU(0.2) → BatchNorm1d] for 128, 256, 512, 1024 → Linear 784,
/// with BatchNorm AFTER the activation and no tanh on the output, as in EmjayAhn/GAN-pytorch. The recipe knobs
/// put BatchNorm before the activation (Linear → BatchNorm1d → LeakyReLU, as DCGAN and PyTorch-GAN's gan.py)
/// and tanh on the output.
/// </summary>
public sealed class Generator : Network
{
    /// <summary>The reference's hidden widths.</summary>
    public static readonly int[] ReferenceWidths = [128, 256, 512, 1024];
    /// <summary>The reference's LeakyReLU slope and BatchNorm eps and momentum.</summary>
    public const float Slope = 0.2f, BatchNormEps = 1e-5f, BatchNormMomentum = 0.8f;

    /// <summary>G: <paramref name="zDim"/> → <paramref name="hiddenWidths"/> → <paramref name="imagePixels"/>, for batches of up to <paramref name="maxRows"/> rows.</summary>
    public Generator(KernelSet kernels, int zDim, IReadOnlyList<int> hiddenWidths, int imagePixels, int maxRows,
        bool batchNormBeforeActivation = false, bool tanhOutput = false)
        : this(kernels, new ParameterStore(), zDim, hiddenWidths, imagePixels, maxRows, batchNormBeforeActivation, tanhOutput) { }

    Generator(KernelSet kernels, ParameterStore store, int zDim, IReadOnlyList<int> hiddenWidths, int imagePixels, int maxRows,
        bool batchNormBeforeActivation, bool tanhOutput)
        : base(kernels, "G", maxRows, store,
            Build(kernels, store, zDim, hiddenWidths, imagePixels, batchNormBeforeActivation, tanhOutput)) { }

    static List<ILayer> Build(KernelSet kernels, ParameterStore store, int zDim, IReadOnlyList<int> hiddenWidths, int imagePixels,
        bool batchNormBeforeActivation, bool tanhOutput)
    {
        var layers = new List<ILayer>();
        int width = zDim;
        for (int i = 0; i < hiddenWidths.Count; i++)
        {
            int next = hiddenWidths[i];
            layers.Add(new Linear(kernels, store, $"fc{i + 1}", width, next));
            ILayer activation = new LeakyRelu(kernels, next, Slope);
            ILayer norm = new BatchNorm1d(kernels, store, $"bn{i + 1}", next, BatchNormMomentum, BatchNormEps);
            layers.AddRange(batchNormBeforeActivation ? [norm, activation] : [activation, norm]);
            width = next;
        }
        layers.Add(new Linear(kernels, store, $"fc{hiddenWidths.Count + 1}", width, imagePixels));
        if (tanhOutput) layers.Add(ElementWiseActivation.Tanh(kernels, imagePixels));
        return layers;
    }
}

/// <summary>
/// The seed's discriminator: 784 → Linear 256 → LeakyReLU(0.2) → Linear 128 → LeakyReLU(0.2) → Linear 1 → sigmoid.
/// A dropout probability above 0 adds nn.Dropout after each hidden LeakyReLU, as the paper's D had.
/// </summary>
public sealed class Discriminator : Network
{
    /// <summary>The reference's hidden widths.</summary>
    public static readonly int[] ReferenceWidths = [256, 128];
    /// <summary>The reference's LeakyReLU slope.</summary>
    public const float Slope = 0.2f;

    /// <summary>D: <paramref name="imagePixels"/> → <paramref name="hiddenWidths"/> → 1, with <paramref name="dropout"/> after each hidden layer, for batches of up to <paramref name="maxRows"/> rows.</summary>
    public Discriminator(KernelSet kernels, int imagePixels, IReadOnlyList<int> hiddenWidths, int maxRows, float dropout = 0f)
        : this(kernels, new ParameterStore(), imagePixels, hiddenWidths, maxRows, dropout) { }

    Discriminator(KernelSet kernels, ParameterStore store, int imagePixels, IReadOnlyList<int> hiddenWidths, int maxRows, float dropout)
        : base(kernels, "D", maxRows, store, Build(kernels, store, imagePixels, hiddenWidths, maxRows, dropout)) { }

    static List<ILayer> Build(KernelSet kernels, ParameterStore store, int imagePixels, IReadOnlyList<int> hiddenWidths,
        int maxRows, float dropout)
    {
        var layers = new List<ILayer>();
        int width = imagePixels;
        for (int i = 0; i < hiddenWidths.Count; i++)
        {
            layers.Add(new Linear(kernels, store, $"fc{i + 1}", width, hiddenWidths[i]));
            layers.Add(new LeakyRelu(kernels, hiddenWidths[i], Slope));
            if (dropout > 0f) layers.Add(new DropoutLayer(kernels, hiddenWidths[i], dropout, maxRows, index: i));
            width = hiddenWidths[i];
        }
        layers.Add(new Linear(kernels, store, $"fc{hiddenWidths.Count + 1}", width, 1));
        layers.Add(ElementWiseActivation.Sigmoid(kernels, 1));
        return layers;
    }

    /// <summary>
    /// D without its closing sigmoid: the logits [rows, 1], for a loss that applies the sigmoid and its backward in
    /// its own launch (<see cref="Kernels.Bce.SigmoidLossAndGradient"/>).
    /// </summary>
    public ArrayView<float> ForwardLogits(ArrayView<float> input, int rows, ForwardContext context) =>
        ForwardLayers(Layers.Count - 1, input, rows, context);

    /// <summary>
    /// <see cref="Network.Backward"/> from the gradient of the logits of the last <see cref="ForwardLogits"/>. With
    /// <paramref name="logitLayerInputGradientWritten"/>, the loss's launch has written the input gradient of the
    /// Linear that makes the logits, where <see cref="LogitLayer"/> said.
    /// </summary>
    public void BackwardFromLogits(ArrayView<float> input, ArrayView<float> dLogits, int rows, bool parameterGradients,
        ArrayView<float> dInput = default, bool logitLayerInputGradientWritten = false) =>
        BackwardLayers(Layers.Count - 1, input, dLogits, rows, parameterGradients, dInput, logitLayerInputGradientWritten);

    /// <summary>
    /// The Linear that makes the logits, for a loss that carries their gradient on to its input in its own launch
    /// (<see cref="Kernels.Bce.SigmoidLossAndGradient"/>): its weight row, the view the next
    /// <see cref="BackwardFromLogits"/> over <paramref name="rows"/> rows reads that gradient from (<paramref name="dInput"/>
    /// when the Linear is D's first layer), and the backward of the LeakyReLU before it when the Linear runs that.
    /// Null when no backward takes that gradient: the Linear is D's first layer and no dInput is given.
    /// </summary>
    public Bce.LogitLayer? LogitLayer(ArrayView<float> input, int rows, ArrayView<float> dInput = default)
    {
        int index = Layers.Count - 2;
        var linear = (Linear)Layers[index];
        var inputGradient = InputGradientView(index, rows, dInput);
        if (inputGradient.Length == 0) return null;
        return linear.InputLeakyReluSlope is { } slope
            ? new(Store.Parameter(linear.Weight), linear.In, inputGradient, InputView(index, input, rows), slope)
            : new(Store.Parameter(linear.Weight), linear.In, inputGradient);
    }
}

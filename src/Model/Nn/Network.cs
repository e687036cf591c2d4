using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Nn;

/// <summary>
/// A stack of layers run in order, as nn.Sequential, with the device memory it needs for batches of up to
/// <see cref="MaxRows"/> rows: one parameter store, every layer's output kept for the backward pass, and
/// two gradient buffers the backward pass alternates between. A LeakyReLU straight after a Linear or a BatchNorm1d
/// is fused into it (one launch per pass fewer, and one buffer). The activation's backward then runs in the next
/// layer's backward launch: a BatchNorm1d's after a Linear (with the bias gradient), a Linear's input gradient's
/// multiply, or a dropout's; <see cref="Layers"/> lists the layers as they run.
/// </summary>
public class Network : IDisposable
{
    readonly MemoryBuffer1D<float, Stride1D.Dense>[] outputs;
    readonly MemoryBuffer1D<float, Stride1D.Dense> gradientA, gradientB;
    /// <summary>For every layer as built, the index in <see cref="Layers"/> of the layer that writes its output.</summary>
    readonly Dictionary<ILayer, int> writerOf;
    ArrayView<float> lastOutput;
    ForwardBatches lastForward;

    /// <summary>A network of <paramref name="layers"/> whose tensors live in <paramref name="store"/>, for batches of up to <paramref name="maxRows"/> rows.</summary>
    protected Network(KernelSet kernels, string name, int maxRows, ParameterStore store, IReadOnlyList<ILayer> layers)
    {
        Kernels = kernels;
        Name = name;
        MaxRows = maxRows;
        Store = store;
        for (int i = 1; i < layers.Count; i++)
            if (layers[i].In != layers[i - 1].Out)
                throw new ArgumentException($"{name}: layer {i} takes {layers[i].In} features, layer {i - 1} gives {layers[i - 1].Out}");
        (Layers, writerOf) = FuseActivations(layers);
        var accelerator = kernels.Device.Accelerator;
        store.Allocate(accelerator);
        outputs = Layers.Select(l => accelerator.Allocate1D<float>((long)maxRows * l.Out)).ToArray();
        int widest = Layers.Max(l => Math.Max(l.In, l.Out));
        gradientA = accelerator.Allocate1D<float>((long)maxRows * widest);
        gradientB = accelerator.Allocate1D<float>((long)maxRows * widest);
    }

    /// <summary>The kernels the network runs.</summary>
    public KernelSet Kernels { get; }
    /// <summary>The network's name, the prefix of its tensors.</summary>
    public string Name { get; }
    /// <summary>The most rows a batch may have.</summary>
    public int MaxRows { get; }
    /// <summary>The parameters, gradients, Adam moments and state.</summary>
    public ParameterStore Store { get; }
    /// <summary>The layers in order.</summary>
    public IReadOnlyList<ILayer> Layers { get; }
    /// <summary>Input features per row.</summary>
    public int In => Layers[0].In;
    /// <summary>Output features per row.</summary>
    public int Out => Layers[^1].Out;

    /// <summary>
    /// A new network as PyTorch starts one: each layer initialises its own tensors, drawing from
    /// <paramref name="source"/> in the order the layers run; Adam's moments and step count start at zero.
    /// </summary>
    public void Initialize(UniformSource source)
    {
        foreach (var layer in Layers) layer.Initialize(source);
        Store.AllAdamM.MemSetToZero();
        Store.AllAdamV.MemSetToZero();
        Store.AdamStep = 0;
    }

    /// <summary>
    /// Runs the layers on input [rows, In], handing each the context of the pass. The last layer writes into <paramref name="output"/> when one is
    /// given (so the generator can write straight into the discriminator's batch), else into the network's
    /// own buffer. Returns the output view [rows, Out].
    /// </summary>
    public ArrayView<float> Forward(ArrayView<float> input, int rows, ForwardContext context, ArrayView<float> output = default) =>
        ForwardLayers(Layers.Count, input, rows, context, output);

    /// <summary><see cref="Forward"/> through the first <paramref name="count"/> layers only; the last of them writes <paramref name="output"/>.</summary>
    protected ArrayView<float> ForwardLayers(int count, ArrayView<float> input, int rows, ForwardContext context,
        ArrayView<float> output = default)
    {
        CheckRows(rows);
        lastForward = new(rows, context.Batches);
        var x = input.SubView(0, (long)rows * In);
        for (int i = 0; i < count; i++)
        {
            bool last = i == count - 1;
            var y = last && output.Length > 0 ? output.SubView(0, (long)rows * Layers[i].Out) : Head(outputs[i], rows * Layers[i].Out);
            Layers[i].Forward(x, y, rows, context);
            x = y;
        }
        lastOutput = x;
        return x;
    }

    /// <summary>
    /// Back-propagates dOutput [rows, Out] through the last <see cref="Forward"/>: its rows, or the rows of its last
    /// batch when it ran several, with the input of those rows. Writes the parameter gradients when asked, and
    /// dInput [rows, In] when a view is given. dOutput may be overwritten.
    /// </summary>
    public void Backward(ArrayView<float> input, ArrayView<float> dOutput, int rows, bool parameterGradients,
        ArrayView<float> dInput = default) =>
        BackwardLayers(Layers.Count, input, dOutput, rows, parameterGradients, dInput);

    /// <summary>
    /// <see cref="Backward"/> from the output of the first <paramref name="count"/> layers, after a <see cref="ForwardLayers"/>
    /// through them. With <paramref name="topInputGradientWritten"/> the input gradient of the last of them is already in
    /// <see cref="InputGradientView"/> (another launch wrote it), and that layer writes only its parameter gradients.
    /// </summary>
    protected void BackwardLayers(int count, ArrayView<float> input, ArrayView<float> dOutput, int rows, bool parameterGradients,
        ArrayView<float> dInput = default, bool topInputGradientWritten = false)
    {
        CheckRows(rows);
        var dy = dOutput;
        for (int i = count - 1; i >= 0; i--)
        {
            var layer = Layers[i];
            long skipped = SkippedRows(rows);
            ArrayView<float> y = i == count - 1 ? lastOutput.SubView(skipped * layer.Out, (long)rows * layer.Out)
                : outputs[i].View.SubView(skipped * layer.Out, (long)rows * layer.Out);
            var dx = InputGradientView(i, rows, dInput);
            layer.Backward(InputView(i, input, rows), y, dy, i == count - 1 && topInputGradientWritten ? default : dx, rows,
                parameterGradients);
            dy = dx;
        }
    }

    /// <summary>The rows a backward over <paramref name="rows"/> rows skips: the last batch of a forward over several starts this many rows in.</summary>
    long SkippedRows(int rows) => (long)lastForward.BackwardBatch(rows, Name) * rows;

    /// <summary>Layer <paramref name="index"/>'s input in the last forward, the rows a backward over <paramref name="rows"/> differentiates.</summary>
    protected ArrayView<float> InputView(int index, ArrayView<float> input, int rows) =>
        index == 0 ? input.SubView(0, (long)rows * In)
        : outputs[index - 1].View.SubView(SkippedRows(rows) * Layers[index].In, (long)rows * Layers[index].In);

    /// <summary>
    /// Where a backward over <paramref name="rows"/> rows writes layer <paramref name="index"/>'s input gradient: one of
    /// the two alternating buffers, or <paramref name="dInput"/> (empty when not asked for) for the first layer.
    /// </summary>
    protected ArrayView<float> InputGradientView(int index, int rows, ArrayView<float> dInput) =>
        index > 0 ? Head(index % 2 == 0 ? gradientA : gradientB, rows * Layers[index].In)
        : dInput.Length > 0 ? dInput.SubView(0, (long)rows * In) : default;

    /// <summary>The multiplies of a <see cref="Forward"/> over <paramref name="rows"/> rows.</summary>
    public IEnumerable<GemmProblem> ForwardGemms(int rows) => Layers.OfType<Linear>().Select(l => l.Gemms(rows).Forward);

    /// <summary>
    /// The multiplies of a <see cref="Backward"/> over <paramref name="rows"/> rows: weight gradients when
    /// asked, input gradients of every Linear but a first one, whose dx is taken only when dInput is given.
    /// </summary>
    public IEnumerable<GemmProblem> BackwardGemms(int rows, bool parameterGradients, bool inputGradient)
    {
        foreach (var linear in Layers.OfType<Linear>())
        {
            var gemms = linear.Gemms(rows);
            if (parameterGradients) yield return gemms.WeightGradient;
            if (inputGradient || !ReferenceEquals(linear, Layers[0])) yield return gemms.InputGradient;
        }
    }

    static (List<ILayer> Fused, Dictionary<ILayer, int> WriterOf) FuseActivations(IReadOnlyList<ILayer> layers)
    {
        var fused = new List<ILayer>(layers.Count);
        var writerOf = new Dictionary<ILayer, int>(layers.Count);
        foreach (var layer in layers)
        {
            bool fusedIntoPrevious = layer is LeakyRelu activation && fused.Count > 0 && fused[^1] switch
            {
                Linear linear => linear.TryFuse(activation),
                BatchNorm1d norm => norm.TryFuse(activation),
                _ => false,
            };
            if (!fusedIntoPrevious) fused.Add(layer);
            writerOf[layer] = fused.Count - 1;
        }
        for (int i = 1; i < fused.Count; i++)
        {
            if (fused[i] is BatchNorm1d norm && fused[i - 1] is Linear linear)
                norm.TryTakeOverBackwardOf(linear);
            else if (fused[i] is Linear next && fused[i - 1] is IFusedLeakyRelu previous)
                next.TryTakeOverInputActivation(previous);
            else if (fused[i] is DropoutLayer dropout && fused[i - 1] is IFusedLeakyRelu activated)
                dropout.TryTakeOverActivationOf(activated);
        }
        return (fused, writerOf);
    }

    /// <summary>
    /// Output [rows, Out] of a layer the network was built with, in the last <see cref="Forward"/>, e.g. a
    /// classifier's features: a fused activation's is that of the Linear it was fused into. Not the last layer
    /// when that one wrote into a caller's buffer.
    /// </summary>
    public ArrayView<float> LayerOutput(ILayer layer, int rows) => Head(outputs[writerOf[layer]], (long)rows * layer.Out);

    static ArrayView<float> Head(MemoryBuffer1D<float, Stride1D.Dense> buffer, long length) => buffer.View.SubView(0, length);

    void CheckRows(int rows)
    {
        if (rows < 1 || rows > MaxRows)
            throw new ArgumentOutOfRangeException(nameof(rows), $"{Name}: {rows} rows, buffers hold 1 to {MaxRows}");
    }

    /// <summary>Frees the store and the activations.</summary>
    public void Dispose()
    {
        foreach (var layer in Layers.OfType<IDisposable>()) layer.Dispose();
        foreach (var buffer in outputs) buffer.Dispose();
        gradientA.Dispose();
        gradientB.Dispose();
        Store.Dispose();
        GC.SuppressFinalize(this);
    }
}

using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Nn;

/// <summary>One named tensor's place in a flat buffer.</summary>
public sealed record TensorSlot(string Name, int Offset, int[] Shape)
{
    // Computed once: every layer launch of a step asks for it.
    /// <summary>The number of values.</summary>
    public int Length { get; } = Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>Named tensors packed one after another into a flat buffer, as llm.c's ParameterTensors.</summary>
public sealed class ParameterLayout
{
    readonly List<TensorSlot> slots = [];

    /// <summary>The tensors in order.</summary>
    public IReadOnlyList<TensorSlot> Slots => slots;
    /// <summary>The values of all tensors.</summary>
    public int Length { get; private set; }

    /// <summary>
    /// The floats of Linear layers chained through <paramref name="features"/> (weight out×in and bias out each), in
    /// 64-bit arithmetic: what a file's header may claim is checked with it before a network is built.
    /// </summary>
    public static long OfLinears(IReadOnlyList<int> features) =>
        Enumerable.Range(1, features.Count - 1).Sum(i => (long)features[i] * features[i - 1] + features[i]);

    /// <summary>Adds a tensor named <paramref name="name"/> of <paramref name="shape"/> after the others.</summary>
    public TensorSlot Add(string name, params int[] shape)
    {
        if (slots.Any(s => s.Name == name)) throw new ArgumentException($"tensor '{name}' is already in the layout");
        var slot = new TensorSlot(name, Length, shape);
        slots.Add(slot);
        Length += slot.Length;
        return slot;
    }
}

/// <summary>
/// A network's device memory: parameters, their gradients and Adam's two moments share one layout, so the
/// optimizer is one launch over the whole network; buffers that are state but not trained (BatchNorm's
/// running statistics) have a layout of their own. Layers add their tensors while the network is built;
/// <see cref="Allocate"/> then makes the buffers.
/// </summary>
public sealed class ParameterStore : IDisposable
{
    MemoryBuffer1D<float, Stride1D.Dense>? parameters, gradients, adamM, adamV, state;

    /// <summary>The layout of the trained parameters.</summary>
    public ParameterLayout Parameters { get; } = new();
    /// <summary>The layout of the state that is not trained (running statistics).</summary>
    public ParameterLayout State { get; } = new();

    /// <summary>Adam's step count t for this network: bias corrections depend on it, checkpoints keep it.</summary>
    public int AdamStep { get; set; }

    /// <summary>Allocates the buffers on <paramref name="accelerator"/>, once every tensor is added.</summary>
    public void Allocate(Accelerator accelerator)
    {
        if (parameters is not null) throw new InvalidOperationException("the store is already allocated");
        // One element at least: activations and sigmoid have no tensors, and ILGPU wants non-empty buffers.
        long length = Math.Max(Parameters.Length, 1);
        parameters = accelerator.Allocate1D<float>(length);
        gradients = accelerator.Allocate1D<float>(length);
        adamM = accelerator.Allocate1D<float>(length);
        adamV = accelerator.Allocate1D<float>(length);
        state = accelerator.Allocate1D<float>(Math.Max(State.Length, 1));
        gradients.MemSetToZero();
        adamM.MemSetToZero();
        adamV.MemSetToZero();
    }

    static ArrayView<float> Whole(MemoryBuffer1D<float, Stride1D.Dense>? buffer, int length) =>
        (buffer ?? throw new InvalidOperationException("the store is not allocated yet")).View.SubView(0, length);

    /// <summary>Every parameter, one view.</summary>
    public ArrayView<float> AllParameters => Whole(parameters, Parameters.Length);
    /// <summary>Every gradient, in the parameters' layout.</summary>
    public ArrayView<float> AllGradients => Whole(gradients, Parameters.Length);
    /// <summary>Adam's first moments, in the parameters' layout.</summary>
    public ArrayView<float> AllAdamM => Whole(adamM, Parameters.Length);
    /// <summary>Adam's second moments, in the parameters' layout.</summary>
    public ArrayView<float> AllAdamV => Whole(adamV, Parameters.Length);
    /// <summary>All the state, one view.</summary>
    public ArrayView<float> AllState => Whole(state, State.Length);

    /// <summary>The parameter tensor of <paramref name="slot"/>.</summary>
    public ArrayView<float> Parameter(TensorSlot slot) => AllParameters.SubView(slot.Offset, slot.Length);
    /// <summary>The gradient of <paramref name="slot"/>.</summary>
    public ArrayView<float> Gradient(TensorSlot slot) => AllGradients.SubView(slot.Offset, slot.Length);
    /// <summary>The state tensor of <paramref name="slot"/>.</summary>
    public ArrayView<float> StateTensor(TensorSlot slot) => AllState.SubView(slot.Offset, slot.Length);

    /// <summary>Frees the buffers.</summary>
    public void Dispose()
    {
        parameters?.Dispose();
        gradients?.Dispose();
        adamM?.Dispose();
        adamV?.Dispose();
        state?.Dispose();
    }
}

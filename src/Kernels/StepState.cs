using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// The slots of a training step's state on the device: the counters every per-step value is a function of, so a
/// step's launches carry the same arguments at every step (what a CUDA graph needs). Slots 0–2 hold the step under
/// way, slots 3–5 the last step committed. The step's first kernel (<see cref="StepInputs"/>: noise and real batch) reads the committed counters
/// and writes the new ones (each one more); the last (G's Adam) copies them back to the committed slots. No kernel
/// writes a slot that another thread of its own launch reads.
/// </summary>
public static class StepState
{
    /// <summary>The global step (counted from 0), and G's and D's Adam step counts t (counted from 1).</summary>
    public const int Step = 0, GeneratorAdam = 1, DiscriminatorAdam = 2, Counters = 3;

    /// <summary>Where the committed value of a counter lives.</summary>
    public const int Committed = Counters;

    /// <summary>Slots in all: the step under way, then the committed one.</summary>
    public const int Length = 2 * Counters;

    /// <summary>
    /// The slots' values for a step <paramref name="step"/> that starts from the committed counters
    /// (step − 1, <paramref name="generatorAdam"/>, <paramref name="discriminatorAdam"/>): what the host writes at
    /// the start of a run or a resume, never per step.
    /// </summary>
    public static long[] Before(long step, int generatorAdam, int discriminatorAdam) =>
        [step, generatorAdam + 1L, discriminatorAdam + 1L, step - 1, generatorAdam, discriminatorAdam];
}

/// <summary>
/// Records every argument of the launches whose wrappers report them (kernel name, scalars, and each view's buffer,
/// offset and length), so two steps' launches can be compared. Off (null on <see cref="ComputeDevice.Recorder"/>)
/// it costs one null test per launch: callers write <c>device.Recorder?.Add(...)</c>, whose arguments are then
/// never evaluated.
/// </summary>
internal sealed class LaunchRecorder
{
    readonly List<string> launches = [];

    public IReadOnlyList<string> Launches => launches;

    public void Clear() => launches.Clear();

    public void Add(string kernel, KernelConfig config, params object[] arguments) =>
        launches.Add($"{kernel}<{config.GridDim}, {config.GroupDim}>({string.Join(", ", arguments.Select(Describe))})");

    /// <summary>A view by its buffer's identity, offset and length; anything else by its value.</summary>
    public static string Describe(object argument) => argument switch
    {
        ArrayView<float> view => View(view, "float"),
        ArrayView<int> view => View(view, "int"),
        ArrayView<long> view => View(view, "long"),
        float value => value.ToString("R"),
        double value => value.ToString("R"),
        _ => argument.ToString() ?? "null",
    };

    static string View<T>(ArrayView<T> view, string type) where T : unmanaged =>
        view.IsValid
            ? $"{type}[buffer {RuntimeHelpers.GetHashCode(((IArrayView)view).Buffer)} + {((IContiguousArrayView)view).Index}, {view.Length}]"
            : $"{type}[empty]";
}

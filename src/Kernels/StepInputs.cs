using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>A training step's two noise draws: n values a part, streams Base | (s &lt;&lt; Shift) | part.</summary>
public readonly record struct NoiseDraw(int N, ulong Seed, ulong StreamBase, int StepShift);

/// <summary>A training step's real batch: rows of <paramref name="Width"/> floats from (s mod StepsPerEpoch)·Rows of the shuffled index.</summary>
public readonly record struct BatchGather(int StepsPerEpoch, int Rows, int Width);

/// <summary>
/// A training step's first launch: its noise (<see cref="DeviceRandom.Gaussians"/> with the step state's streams, which advances the step state)
/// and its real batch (<see cref="Gather.Rows"/>) in one, each thread doing its share of both, so a step
/// launches one kernel fewer. The gather takes the step as committed + 1, as the noise does, since the step's own slot
/// is written by thread 0 of this very launch.
/// </summary>
public sealed class StepInputs
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, NoiseDraw, ArrayView<long>, ArrayView<float>, ArrayView<int>, ArrayView<float>, BatchGather> kernel;

    /// <summary>Loads the kernel on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public StepInputs(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        Variant = device.Resolve(variant);
        kernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, NoiseDraw, ArrayView<long>, ArrayView<float>, ArrayView<int>, ArrayView<float>, BatchGather>(
            Variant == KernelVariant.CpuWorker ? CpuKernel : PortableKernel);
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>Both of a step's inputs: noise [2, N] drawn, batch [Rows, Width] gathered from source by index.</summary>
    public void Draw(ArrayView<float> noise, NoiseDraw draw, ArrayView<long> state, ArrayView<float> source,
        ArrayView<int> index, ArrayView<float> batch, BatchGather gather)
    {
        // The rows the index names are on the device, unread here: source is checked for one row.
        Views.AtLeast(noise, 2L * draw.N); Views.AtLeast(state, StepState.Length); Views.AtLeast(source, gather.Width);
        Views.AtLeast(index, (long)gather.StepsPerEpoch * gather.Rows); Views.AtLeast(batch, (long)gather.Rows * gather.Width);
        ArgumentOutOfRangeException.ThrowIfLessThan(gather.StepsPerEpoch, 1);
        long noiseBlocks = 2 * (((long)draw.N + 3) / 4), values = (long)gather.Rows * gather.Width;
        var config = device.GridStride(Math.Max(noiseBlocks, values));
        device.Recorder?.Add("step_inputs", config, noise, draw, state, source, index, batch, gather);
        using var _ = device.Profile("step_inputs", (60 + 2 * 9) / 4.0 * 2 * draw.N, 8.0 * draw.N + 8.0 * values + 4.0 * gather.Rows);
        kernel(config, noise, draw, state, source, index, batch, gather);
    }

    static int StartOf(ArrayView<long> state, BatchGather gather) =>
        (int)((state[StepState.Committed + StepState.Step] + 1) % gather.StepsPerEpoch) * gather.Rows;

    [Kernel]
    static void PortableKernel(ArrayView<float> noise, NoiseDraw draw, ArrayView<long> state, ArrayView<float> source,
        ArrayView<int> index, ArrayView<float> batch, BatchGather gather)
    {
        int start = StartOf(state, gather);
        DeviceRandom.StepGaussiansKernel(noise, draw.N, draw.Seed, state, draw.StreamBase, draw.StepShift);
        Gather.RowsKernel(source, index, start, batch, gather.Rows, gather.Width);
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuKernel(ArrayView<float> noise, NoiseDraw draw, ArrayView<long> state, ArrayView<float> source,
        ArrayView<int> index, ArrayView<float> batch, BatchGather gather)
    {
        int start = StartOf(state, gather);
        DeviceRandom.StepGaussiansKernel(noise, draw.N, draw.Seed, state, draw.StreamBase, draw.StepShift);
        Gather.CpuRowsWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, source, index, start, batch, gather.Rows, gather.Width);
    }
}

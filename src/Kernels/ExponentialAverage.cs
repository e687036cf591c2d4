using System.Numerics;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// An exponential moving average of a network's tensors (Polyak averaging of G's weights for sampling):
/// average ← decay·average + (1 − decay)·value, over two tensors in one launch, so a network's parameters and
/// its BatchNorm running statistics are averaged together as timm's ModelEmaV2 averages a whole state_dict.
/// On the CPU accelerator the launch runs <see cref="CpuWorker"/> through raw pointers: the portable kernel's
/// range-checked view accesses took 5.5 ms a step for G's 1.5 million values.
/// </summary>
public sealed class ExponentialAverage
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int, float> update;

    /// <summary>Loads the average's kernels on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public ExponentialAverage(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        Variant = device.Resolve(variant);
        update = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, ArrayView<float>,
            ArrayView<float>, int, float>(Variant == KernelVariant.CpuWorker ? CpuUpdateKernel : UpdateKernel);
        stepUpdate = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, ArrayView<float>,
            ArrayView<float>, int, ArrayView<long>, AverageSchedule>(Variant == KernelVariant.CpuWorker ? CpuStepUpdateKernel : StepUpdateKernel);
    }

    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int, ArrayView<long>, AverageSchedule> stepUpdate;

    /// <summary>
    /// The decay of a training step's update: <paramref name="Decay"/>, or with a warm-up (Warmup ≠ 0) at most
    /// (1 + t)/(10 + t) for the Adam step count t in slot <paramref name="Counter"/> of the step state.
    /// </summary>
    public readonly record struct AverageSchedule(double Decay, int Warmup, int Counter);

    /// <summary>The decay of the update after Adam step t: the schedule's decay, at most (1 + t)/(10 + t) with a warm-up.</summary>
    public static double DecayAfter(AverageSchedule schedule, long t) =>
        schedule.Warmup != 0 ? Math.Min(schedule.Decay, (1.0 + t) / (10.0 + t)) : schedule.Decay;

    /// <summary>
    /// <see cref="Update"/> with the decay formed on the device from the step state (see <see cref="StepState"/>), as the
    /// host forms it, so the launch's arguments are the same at every step.
    /// </summary>
    public void StepUpdate(ArrayView<float> average, ArrayView<float> value, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, ArrayView<long> state, AverageSchedule schedule)
    {
        Views.AtLeast(value, average.Length); Views.AtLeast(secondValue, secondAverage.Length); Views.AtLeast(state, StepState.Length);
        if (!(schedule.Decay >= 0 && schedule.Decay <= 1)) throw new ArgumentOutOfRangeException(nameof(schedule), schedule.Decay, "a decay is in [0, 1]");
        int n = (int)average.Length, secondN = (int)secondAverage.Length;
        var config = device.GridStride(n + secondN);
        device.Recorder?.Add("exponential_average", config, average, value, n, secondAverage, secondValue, secondN, state, schedule);
        using var _ = device.Profile("exponential_average", 3.0 * (n + secondN), 12.0 * (n + secondN));
        stepUpdate(config, average, value, n, secondAverage, secondValue, secondN, state, schedule);
    }

    static float WeightOf(ArrayView<long> state, AverageSchedule schedule) =>
        (float)(1.0 - DecayAfter(schedule, state[schedule.Counter]));

    [Kernel]
    static void StepUpdateKernel(ArrayView<float> average, ArrayView<float> value, int n, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, int secondN, ArrayView<long> state, AverageSchedule schedule) =>
        UpdateKernel(average, value, n, secondAverage, secondValue, secondN, WeightOf(state, schedule));

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuStepUpdateKernel(ArrayView<float> average, ArrayView<float> value, int n, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, int secondN, ArrayView<long> state, AverageSchedule schedule) =>
        CpuUpdateKernel(average, value, n, secondAverage, secondValue, secondN, WeightOf(state, schedule));

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>
    /// average ← lerp(average, value, 1 − decay) element-wise, for (<paramref name="average"/>,
    /// <paramref name="value"/>) and (<paramref name="secondAverage"/>, <paramref name="secondValue"/>); each pair
    /// has the length of its average. Values are read only. decay in [0, 1].
    /// </summary>
    public void Update(ArrayView<float> average, ArrayView<float> value, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, double decay)
    {
        Views.AtLeast(value, average.Length); Views.AtLeast(secondValue, secondAverage.Length);
        if (!(decay >= 0 && decay <= 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "a decay is in [0, 1]");
        int n = (int)average.Length, secondN = (int)secondAverage.Length;
        // 1 − decay formed in double and rounded once, as PyTorch rounds lerp_'s Python-float weight.
        float weight = (float)(1.0 - decay);
        var config = device.GridStride(n + secondN);
        device.Recorder?.Add("exponential_average", config, average, value, n, secondAverage, secondValue, secondN, weight);
        using var _ = device.Profile("exponential_average", 3.0 * (n + secondN), 12.0 * (n + secondN));
        update(config, average, value, n, secondAverage, secondValue, secondN, weight);
    }

    /// <summary>torch.lerp's formula: from the nearer end, so a weight near 0 or 1 loses no precision.</summary>
    static float Lerp(float start, float end, float weight) =>
        weight < 0.5f ? start + weight * (end - start) : end - (end - start) * (1f - weight);

    [Kernel]
    static void UpdateKernel(ArrayView<float> average, ArrayView<float> value, int n, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, int secondN, float weight)
    {
        int total = n + secondN;
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < total; i += step)
        {
            if (i < n) average[i] = Lerp(average[i], value[i], weight);
            else secondAverage[i - n] = Lerp(secondAverage[i - n], secondValue[i - n], weight);
        }
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuUpdateKernel(ArrayView<float> average, ArrayView<float> value, int n, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, int secondN, float weight)
    {
        CpuWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, average, value, n, weight);
        CpuWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, secondAverage, secondValue, secondN, weight);
    }

    /// <summary>
    /// Worker <paramref name="worker"/>'s contiguous share of one tensor. The weight is the same for every element,
    /// so Lerp's branch is taken once and a SIMD vector of elements gets its operations in its order: the averages
    /// equal the portable kernel's to the bit.
    /// </summary>
    [External("ilgpugan_exponential_average_cpu_worker")]
    static unsafe void CpuWorker(int worker, int workers, ArrayView<float> averageView, ArrayView<float> valueView, int n, float weight)
    {
        if (n == 0) return;
        float* average = CpuPointer.Of(averageView), value = CpuPointer.Of(valueView);
        var (begin, vectorEnd, end) = WorkerSlice.Of(worker, workers, n);
        int i = begin;
        bool fromStart = weight < 0.5f;
        var weights = new Vector<float>(fromStart ? weight : 1f - weight);
        for (; i < vectorEnd; i += Vector<float>.Count)
        {
            var start = Vector.Load(average + i);
            var target = Vector.Load(value + i);
            (fromStart ? start + weights * (target - start) : target - (target - start) * weights).Store(average + i);
        }
        for (; i < end; i++) average[i] = Lerp(average[i], value[i], weight);
    }
}

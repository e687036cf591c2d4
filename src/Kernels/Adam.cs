using System.Numerics;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>torch.optim.Adam's hyper-parameters; weight decay is Adam's L2 term added to the gradient, not AdamW's.</summary>
public readonly record struct AdamSettings(float LearningRate, float Beta1, float Beta2, float Eps, float WeightDecay)
{
    /// <summary>The reference GAN's optimiser settings.</summary>
    public static AdamSettings Reference => new(2e-4f, 0.9f, 0.999f, 1e-8f, 8e-9f);
}

/// <summary>
/// Where a training step's Adam finds its per-step values on the device (see <see cref="StepState"/>): its step count t
/// in slot <paramref name="Counter"/>; the learning rate's linear decay to 0 from global step
/// <paramref name="DecayFrom"/> to <paramref name="DecayTo"/> (none when To is not after From); and whether this
/// launch, the step's last that reads the state, commits the step's counters (Commit ≠ 0).
/// </summary>
public readonly record struct AdamSchedule(int Counter, long DecayFrom, long DecayTo, int Commit);

/// <summary>
/// Adam over a network's whole flat parameter buffer in one launch: parameters, gradients and the moments m, v
/// share one layout, as in llm.c, so the optimiser never needs to know the layers. On the CPU accelerator the
/// launch runs <see cref="CpuStepWorker"/>: each core updates one contiguous half through raw pointers, where
/// the portable grid-stride kernel pays a range-checked view access per element and has the cores write
/// interleaved elements of the same cache lines.
/// </summary>
public sealed class Adam
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamSettings, float, float> stepKernel;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamSettings, ArrayView<long>, AdamSchedule> trainingStepKernel;

    /// <summary>Loads Adam's kernels on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public Adam(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        Variant = device.Resolve(variant);
        stepKernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamSettings, float, float>(
            Variant == KernelVariant.CpuWorker ? CpuStepKernel : StepKernel);
        trainingStepKernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamSettings, ArrayView<long>, AdamSchedule>(
            Variant == KernelVariant.CpuWorker ? CpuTrainingStepKernel : TrainingStepKernel);
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>
    /// One PyTorch 1.13 Adam step (torch.optim.Adam, _single_tensor_adam, not AdamW) on n values, in place:
    /// g = grad + wd·param; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
    /// param −= (lr/(1−β1^t)) · m / (√v/√(1−β2^t) + eps). <paramref name="step"/> is t, counted from 1.
    /// Gradients are read only.
    /// </summary>
    public void Step(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        int n, int step, AdamSettings settings)
    {
        Views.AtLeast(parameters, n); Views.AtLeast(gradients, n); Views.AtLeast(m, n); Views.AtLeast(v, n);
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        // PyTorch forms these in Python double and rounds them to float where its CUDA kernels take them.
        float stepSize = (float)(settings.LearningRate / (1 - Math.Pow(settings.Beta1, step)));
        float biasCorrection2Sqrt = (float)Math.Sqrt(1 - Math.Pow(settings.Beta2, step));
        var config = device.GridStride(n);
        device.Recorder?.Add("adam", config, parameters, gradients, m, v, n, settings, stepSize, biasCorrection2Sqrt);
        using var _ = device.Profile("adam", 16.0 * n, 28.0 * n);
        stepKernel(config, parameters, gradients, m, v, n, settings, stepSize, biasCorrection2Sqrt);
    }

    /// <summary>
    /// <see cref="Step"/> with t and the learning rate's decay factor read from the device's step state, so the launch's
    /// arguments are the same at every step. The bias corrections are formed as <see cref="Step"/> forms them, in double
    /// once per thread, so the results are the same to the bit.
    /// </summary>
    public void TrainingStep(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        int n, AdamSettings settings, ArrayView<long> state, AdamSchedule schedule)
    {
        Views.AtLeast(parameters, n); Views.AtLeast(gradients, n); Views.AtLeast(m, n); Views.AtLeast(v, n);
        Views.AtLeast(state, StepState.Length);
        var config = device.GridStride(n);
        device.Recorder?.Add("adam", config, parameters, gradients, m, v, n, settings, state, schedule);
        using var _ = device.Profile("adam", 16.0 * n, 28.0 * n);
        trainingStepKernel(config, parameters, gradients, m, v, n, settings, state, schedule);
    }

    /// <summary>The learning rate's factor at a global step: 1 before decayFrom, falling linearly to 0 at decayTo; 1 throughout when To is not after From.</summary>
    public static float DecayFactor(long step, long decayFrom, long decayTo) =>
        decayTo <= decayFrom ? 1f : (float)Math.Max(Math.Min((double)(decayTo - step) / (decayTo - decayFrom), 1.0), 0.0);

    /// <summary>Step size and √(1 − β2^t) of the step under way, in double as <see cref="Step"/> forms them on the host.</summary>
    static (float StepSize, float BiasCorrection2Sqrt) Corrections(ArrayView<long> state, AdamSchedule schedule, AdamSettings settings)
    {
        long t = state[schedule.Counter];
        float learningRate = settings.LearningRate * DecayFactor(state[StepState.Step], schedule.DecayFrom, schedule.DecayTo);
        return ((float)(learningRate / (1 - Math.Pow(settings.Beta1, t))), (float)Math.Sqrt(1 - Math.Pow(settings.Beta2, t)));
    }

    /// <summary>Thread 0 copies the step's counters to the committed slots, which no thread of the launch reads.</summary>
    static void Commit(ArrayView<long> state, AdamSchedule schedule, int thread)
    {
        if (schedule.Commit == 0 || thread != 0) return;
        for (int counter = 0; counter < StepState.Counters; counter++) state[StepState.Committed + counter] = state[counter];
    }

    [Kernel]
    static void TrainingStepKernel(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m,
        ArrayView<float> v, int n, AdamSettings settings, ArrayView<long> state, AdamSchedule schedule)
    {
        var (stepSize, biasCorrection2Sqrt) = Corrections(state, schedule, settings);
        Commit(state, schedule, Grid.GlobalIndex.X);
        StepKernel(parameters, gradients, m, v, n, settings, stepSize, biasCorrection2Sqrt);
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuTrainingStepKernel(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m,
        ArrayView<float> v, int n, AdamSettings settings, ArrayView<long> state, AdamSchedule schedule)
    {
        var (stepSize, biasCorrection2Sqrt) = Corrections(state, schedule, settings);
        Commit(state, schedule, Grid.GlobalIndex.X);
        CpuStepWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, parameters, gradients, m, v, n, settings, stepSize,
            biasCorrection2Sqrt);
    }

    [Kernel]
    static void StepKernel(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m,
        ArrayView<float> v, int n, AdamSettings settings, float stepSize, float biasCorrection2Sqrt)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            Update(ref parameters[i], gradients[i], ref m[i], ref v[i], settings, stepSize, biasCorrection2Sqrt);
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuStepKernel(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m,
        ArrayView<float> v, int n, AdamSettings settings, float stepSize, float biasCorrection2Sqrt) =>
        CpuStepWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, parameters, gradients, m, v, n, settings, stepSize,
            biasCorrection2Sqrt);

    /// <summary>
    /// Worker <paramref name="worker"/> of <paramref name="workers"/>: plain .NET that ILGPU's frontend does not
    /// compile. A SIMD vector of elements takes Update's operations in Update's order, so each element gets the
    /// same float result as from the portable kernel; the last few elements go through Update itself.
    /// </summary>
    [External("ilgpugan_adam_cpu_worker")]
    static unsafe void CpuStepWorker(int worker, int workers, ArrayView<float> parameters, ArrayView<float> gradients,
        ArrayView<float> m, ArrayView<float> v, int n, AdamSettings settings, float stepSize, float biasCorrection2Sqrt)
    {
        float* p = CpuPointer.Of(parameters), g = CpuPointer.Of(gradients), mp = CpuPointer.Of(m), vp = CpuPointer.Of(v);
        int width = Vector<float>.Count;
        long vectors = n / width;
        long i = vectors * worker / workers * width, vectorEnd = vectors * (worker + 1) / workers * width;
        var weightDecay = new Vector<float>(settings.WeightDecay);
        var beta1 = new Vector<float>(settings.Beta1);
        var beta2 = new Vector<float>(settings.Beta2);
        var oneMinusBeta1 = new Vector<float>(1f - settings.Beta1);
        var oneMinusBeta2 = new Vector<float>(1f - settings.Beta2);
        var step = new Vector<float>(stepSize);
        var correction = new Vector<float>(biasCorrection2Sqrt);
        var eps = new Vector<float>(settings.Eps);
        for (; i < vectorEnd; i += width)
        {
            var parameter = Vector.Load(p + i);
            var gi = Vector.Load(g + i) + weightDecay * parameter;
            var mi = beta1 * Vector.Load(mp + i) + oneMinusBeta1 * gi;
            var vi = beta2 * Vector.Load(vp + i) + oneMinusBeta2 * gi * gi;
            mi.Store(mp + i);
            vi.Store(vp + i);
            (parameter - step * (mi / (Vector.SquareRoot(vi) / correction + eps))).Store(p + i);
        }
        if (worker == workers - 1)
            for (; i < n; i++)
                Update(ref p[i], g[i], ref mp[i], ref vp[i], settings, stepSize, biasCorrection2Sqrt);
    }

    /// <summary>One element's step. 1 − β is exact in float for β in [0.5, 1] (Sterbenz), so forming it here adds no rounding.</summary>
    static void Update(ref float parameter, float gradient, ref float m, ref float v, AdamSettings settings,
        float stepSize, float biasCorrection2Sqrt)
    {
        float g = gradient + settings.WeightDecay * parameter;
        float mi = settings.Beta1 * m + (1f - settings.Beta1) * g;
        float vi = settings.Beta2 * v + (1f - settings.Beta2) * g * g;
        m = mi;
        v = vi;
        parameter -= stepSize * (mi / (MathF.Sqrt(vi) / biasCorrection2Sqrt + settings.Eps));
    }
}

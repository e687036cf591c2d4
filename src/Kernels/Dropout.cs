using System.Numerics;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// Inverted dropout, as F.dropout in train mode: each element is kept with probability 1 − p and scaled by
/// 1/(1 − p), so the layer's expected output is its input. The mask is drawn on the device from Philox, a pure
/// function of (seed, stream, element), so a run's masks need no generator state and a resumed run draws the
/// same ones. On the CPU accelerator both directions run CPU workers through raw pointers, each core one
/// contiguous run, where the portable kernels pay a range-checked view access per element.
/// </summary>
public sealed class Dropout
{
    // Philox is 10 rounds of 2 multiplies and 4 XORs or adds per block of 4 elements, plus a compare and a multiply each.
    const double OpsPerElement = 60.0 / 4 + 2;

    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, ulong, ulong> forward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> backward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, ulong, ArrayView<long>, StreamOfStep> stepForward;

    /// <summary>The stream of a step s: Base | (s &lt;&lt; Shift).</summary>
    public readonly record struct StreamOfStep(ulong Base, int Shift);

    /// <summary>Loads the dropout kernels on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public Dropout(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        Variant = device.Resolve(variant);
        bool cpu = Variant == KernelVariant.CpuWorker;
        forward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, ulong, ulong>(
            cpu ? CpuForwardKernel : ForwardKernel);
        backward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(
            cpu ? CpuBackwardKernel : BackwardKernel);
        stepForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, ulong, ArrayView<long>, StreamOfStep>(
            cpu ? CpuStepForwardKernel : StepForwardKernel);
    }

    /// <summary>
    /// <see cref="Forward"/> with the stream streamBase | (s &lt;&lt; stepShift) of the step s under way in the device's
    /// step state (see <see cref="StepState"/>), read on the device, so the launch is the same at every step.
    /// </summary>
    public void StepForward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int n, float p, ulong seed,
        ArrayView<long> state, ulong streamBase, int stepShift)
    {
        Views.AtLeast(x, n); Views.AtLeast(y, n); Views.AtLeast(mask, n); Views.AtLeast(state, StepState.Length);
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "a dropout probability is in [0, 1)");
        float scale = (float)(1.0 / (1.0 - p));
        int blocks = (int)(((long)n + 3) / 4);
        var config = device.GridStride(blocks);
        var stream = new StreamOfStep(streamBase, stepShift);
        device.Recorder?.Add("dropout_forward", config, x, y, mask, n, p, scale, seed, state, stream);
        using var _ = device.Profile("dropout_forward", OpsPerElement * n, 12.0 * n);
        stepForward(config, x, y, mask, n, p, scale, seed, state, stream);
    }

    static ulong StreamOf(ArrayView<long> state, StreamOfStep stream) =>
        stream.Base | ((ulong)state[StepState.Step] << stream.Shift);

    [Kernel]
    static void StepForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int n, float p, float scale,
        ulong seed, ArrayView<long> state, StreamOfStep stream) =>
        ForwardKernel(x, y, mask, n, p, scale, seed, StreamOf(state, stream));

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuStepForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int n, float p, float scale,
        ulong seed, ArrayView<long> state, StreamOfStep stream) =>
        CpuForwardWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, x, y, mask, n, p, scale, seed, StreamOf(state, stream));

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>
    /// mask[i] = 1/(1 − p) when <see cref="Philox.Uniform"/> of word i mod 4 of the Philox block i/4 of
    /// (counter = (i/4, stream), key = seed) is at least p, else 0; y[i] = x[i]·mask[i]. p in [0, 1): p = 0 keeps
    /// every element unscaled. y may be x; mask must alias neither.
    /// </summary>
    public void Forward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int n, float p, ulong seed, ulong stream)
    {
        Views.AtLeast(x, n); Views.AtLeast(y, n); Views.AtLeast(mask, n);
        if (!(p >= 0f && p < 1f)) throw new ArgumentOutOfRangeException(nameof(p), p, "a dropout probability is in [0, 1)");
        // PyTorch divides the Bernoulli mask by (1 − p) formed in double and rounded to float.
        float scale = (float)(1.0 / (1.0 - p));
        int blocks = (int)(((long)n + 3) / 4);
        var config = device.GridStride(blocks);
        device.Recorder?.Add("dropout_forward", config, x, y, mask, n, p, scale, seed, stream);
        using var _ = device.Profile("dropout_forward", OpsPerElement * n, 12.0 * n);
        forward(config, x, y, mask, n, p, scale, seed, stream);
    }

    /// <summary>
    /// dx = dy·mask, with the mask of the forward. dx may be dy. With <paramref name="leakyReluOutput"/> given, the
    /// dropout's input, a LeakyReLU's output with <paramref name="leakyReluSlope"/> ≥ 0, dx is carried on through
    /// that activation's backward: dy·mask where the output is &gt; 0, slope·(dy·mask) elsewhere, bit for bit what
    /// <see cref="Activations.LeakyReluBackward"/> makes of dropout's dx, in the same launch.
    /// </summary>
    public void Backward(ArrayView<float> dy, ArrayView<float> mask, ArrayView<float> dx, int n,
        ArrayView<float> leakyReluOutput = default, float? leakyReluSlope = null)
    {
        Views.AtLeast(dy, n); Views.AtLeast(mask, n); Views.AtLeast(dx, n);
        bool gated = leakyReluOutput.Length > 0;
        if (gated) Views.AtLeast(leakyReluOutput, n);
        if (gated != leakyReluSlope.HasValue || (gated && !(leakyReluSlope >= 0f)))
            throw new ArgumentException("LeakyReLU's backward takes its output and a slope ≥ 0, or neither");
        // A slope of 1 is the identity, exactly: without an activation the mask stands in for the output, never telling.
        var gate = gated ? leakyReluOutput : mask;
        float slope = leakyReluSlope ?? 1f;
        var config = device.GridStride(n);
        device.Recorder?.Add("dropout_backward", config, dy, mask, gate, dx, n, slope);
        using var _ = device.Profile("dropout_backward", 2.0 * n, (gated ? 16.0 : 12.0) * n);
        backward(config, dy, mask, gate, dx, n, slope);
    }

    /// <summary>One thread per Philox block of four elements, so no block is drawn twice.</summary>
    [Kernel]
    static void ForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int n, float p, float scale,
        ulong seed, ulong stream)
    {
        int blocks = (int)(((long)n + 3) / 4);
        for (int block = Grid.GlobalIndex.X, step = GridStrideLoop.Step; block < blocks; block += step)
        {
            var (bits0, bits1, bits2, bits3) = Philox.Philox4x32_10((uint)block, 0, (uint)stream, (uint)(stream >> 32),
                (uint)seed, (uint)(seed >> 32));
            int i = 4 * block;
            Apply(x, y, mask, i, bits0, p, scale);
            if (i + 1 < n) Apply(x, y, mask, i + 1, bits1, p, scale);
            if (i + 2 < n) Apply(x, y, mask, i + 2, bits2, p, scale);
            if (i + 3 < n) Apply(x, y, mask, i + 3, bits3, p, scale);
        }
    }

    static void Apply(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int i, uint bits, float p, float scale)
    {
        float keep = Keep(bits, p, scale);
        mask[i] = keep;
        y[i] = x[i] * keep;
    }

    /// <summary>An element's mask value from its 32 random bits.</summary>
    static float Keep(uint bits, float p, float scale) => Philox.Uniform(bits) >= p ? scale : 0f;

    [Kernel]
    static void BackwardKernel(ArrayView<float> dy, ArrayView<float> mask, ArrayView<float> gate, ArrayView<float> dx, int n,
        float slope)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            dx[i] = Activations.LeakyReluGradient(gate[i], dy[i] * mask[i], slope);
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int n, float p, float scale,
        ulong seed, ulong stream) =>
        CpuForwardWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, x, y, mask, n, p, scale, seed, stream);

    /// <summary>Worker <paramref name="worker"/>'s contiguous run of Philox blocks, each drawn once as in ForwardKernel.</summary>
    [External("ilgpugan_dropout_forward_cpu_worker")]
    static unsafe void CpuForwardWorker(int worker, int workers, ArrayView<float> xView, ArrayView<float> yView,
        ArrayView<float> maskView, int n, float p, float scale, ulong seed, ulong stream)
    {
        float* x = CpuPointer.Of(xView), y = CpuPointer.Of(yView), mask = CpuPointer.Of(maskView);
        int blocks = (int)(((long)n + 3) / 4);
        var (begin, _, end) = WorkerSlice.Of(worker, workers, blocks);
        for (int block = begin; block < end; block++)
        {
            var (bits0, bits1, bits2, bits3) = Philox.Philox4x32_10((uint)block, 0, (uint)stream, (uint)(stream >> 32),
                (uint)seed, (uint)(seed >> 32));
            int i = 4 * block;
            int count = Math.Min(4, n - i);
            for (int word = 0; word < count; word++)
            {
                float keep = Keep(word switch { 0 => bits0, 1 => bits1, 2 => bits2, _ => bits3 }, p, scale);
                mask[i + word] = keep;
                y[i + word] = x[i + word] * keep;
            }
        }
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuBackwardKernel(ArrayView<float> dy, ArrayView<float> mask, ArrayView<float> gate, ArrayView<float> dx, int n,
        float slope) =>
        CpuBackwardWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, dy, mask, gate, dx, n, slope);

    [External("ilgpugan_dropout_backward_cpu_worker")]
    static unsafe void CpuBackwardWorker(int worker, int workers, ArrayView<float> dyView, ArrayView<float> maskView,
        ArrayView<float> gateView, ArrayView<float> dxView, int n, float slope)
    {
        float* dy = CpuPointer.Of(dyView), mask = CpuPointer.Of(maskView), gate = CpuPointer.Of(gateView), dx = CpuPointer.Of(dxView);
        var (begin, vectorEnd, end) = WorkerSlice.Of(worker, workers, n);
        var slopes = new Vector<float>(slope);
        int i = begin;
        // Without an activation (slope 1) the select is skipped: it would leave every element as it is.
        if (slope != 1f)
            for (; i < vectorEnd; i += Vector<float>.Count)
            {
                var g = Vector.Load(dy + i) * Vector.Load(mask + i);
                Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(gate + i), Vector<float>.Zero), g, slopes * g).Store(dx + i);
            }
        else
            for (; i < vectorEnd; i += Vector<float>.Count) (Vector.Load(dy + i) * Vector.Load(mask + i)).Store(dx + i);
        for (; i < end; i++) dx[i] = Activations.LeakyReluGradient(gate[i], dy[i] * mask[i], slope);
    }
}

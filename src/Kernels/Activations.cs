using System.Numerics;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// LeakyReLU, sigmoid and tanh, forward and backward, element-wise over n values. On the CPU accelerator all six
/// run <see cref="CpuWorker"/>: each core takes one contiguous run through raw pointers, where the portable
/// kernels pay a range-checked view access per element (G's LeakyReLUs took 4.7 ms of a 55 ms step that way).
/// </summary>
public sealed class Activations
{
    /// <summary>The operation a CPU worker launch applies; one worker serves all six.</summary>
    enum Operation { LeakyReluForward, LeakyReluBackward, SigmoidForward, SigmoidBackward, TanhForward, TanhBackward }

    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, float>? leakyReluForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? leakyReluBackward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int>? sigmoidForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? sigmoidBackward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int>? tanhForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? tanhBackward;
    readonly Action<KernelConfig, int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>? cpuWorker;

    /// <summary>Loads the activation kernels on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public Activations(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        Variant = device.Resolve(variant);
        if (Variant == KernelVariant.CpuWorker)
        {
            cpuWorker = accelerator.LoadStreamKernel<int, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(CpuWorkerKernel);
            return;
        }
        leakyReluForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, float>(LeakyReluForwardKernel);
        leakyReluBackward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(LeakyReluBackwardKernel);
        sigmoidForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(SigmoidForwardKernel);
        sigmoidBackward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(SigmoidBackwardKernel);
        tanhForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(TanhForwardKernel);
        tanhBackward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(TanhBackwardKernel);
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>y = x for x &gt; 0, slope·x otherwise. y may be x.</summary>
    public void LeakyReluForward(ArrayView<float> x, ArrayView<float> y, int n, float slope)
    {
        Views.AtLeast(x, n); Views.AtLeast(y, n);
        using var _ = device.Profile("leaky_relu_forward", n, 8.0 * n);
        if (cpuWorker is not null) cpuWorker(device.CpuWorkers, (int)Operation.LeakyReluForward, x, x, y, n, slope);
        else leakyReluForward!(device.GridStride(n), x, y, n, slope);
    }

    /// <summary>dx = dy where the forward input x was &gt; 0, slope·dy otherwise. dx may be dy.</summary>
    public void LeakyReluBackward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int n, float slope)
    {
        Views.AtLeast(x, n); Views.AtLeast(dy, n); Views.AtLeast(dx, n);
        using var _ = device.Profile("leaky_relu_backward", n, 12.0 * n);
        if (cpuWorker is not null) cpuWorker(device.CpuWorkers, (int)Operation.LeakyReluBackward, x, dy, dx, n, slope);
        else leakyReluBackward!(device.GridStride(n), x, dy, dx, n, slope);
    }

    /// <summary>y = 1 / (1 + e^−x). y may be x.</summary>
    public void SigmoidForward(ArrayView<float> x, ArrayView<float> y, int n)
    {
        Views.AtLeast(x, n); Views.AtLeast(y, n);
        using var _ = device.Profile("sigmoid_forward", 4.0 * n, 8.0 * n);
        if (cpuWorker is not null) cpuWorker(device.CpuWorkers, (int)Operation.SigmoidForward, x, x, y, n, 0f);
        else sigmoidForward!(device.GridStride(n), x, y, n);
    }

    /// <summary>dx = dy·y·(1 − y), from the forward output y. dx may be dy.</summary>
    public void SigmoidBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        Views.AtLeast(y, n); Views.AtLeast(dy, n); Views.AtLeast(dx, n);
        using var _ = device.Profile("sigmoid_backward", 3.0 * n, 12.0 * n);
        if (cpuWorker is not null) cpuWorker(device.CpuWorkers, (int)Operation.SigmoidBackward, y, dy, dx, n, 0f);
        else sigmoidBackward!(device.GridStride(n), y, dy, dx, n);
    }

    /// <summary>y = tanh(x). y may be x.</summary>
    public void TanhForward(ArrayView<float> x, ArrayView<float> y, int n)
    {
        Views.AtLeast(x, n); Views.AtLeast(y, n);
        using var _ = device.Profile("tanh_forward", 6.0 * n, 8.0 * n);
        if (cpuWorker is not null) cpuWorker(device.CpuWorkers, (int)Operation.TanhForward, x, x, y, n, 0f);
        else tanhForward!(device.GridStride(n), x, y, n);
    }

    /// <summary>dx = dy·(1 − y²), from the forward output y, as torch's tanh_backward. dx may be dy.</summary>
    public void TanhBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        Views.AtLeast(y, n); Views.AtLeast(dy, n); Views.AtLeast(dx, n);
        using var _ = device.Profile("tanh_backward", 3.0 * n, 12.0 * n);
        if (cpuWorker is not null) cpuWorker(device.CpuWorkers, (int)Operation.TanhBackward, y, dy, dx, n, 0f);
        else tanhBackward!(device.GridStride(n), y, dy, dx, n);
    }

    // One element of each operation, shared by the portable kernels, the CPU worker's scalar code and the kernels that fuse them.
    internal static float LeakyRelu(float x, float slope) => x > 0f ? x : slope * x;
    internal static float LeakyReluGradient(float x, float dy, float slope) => x > 0f ? dy : slope * dy;
    internal static float Sigmoid(float x) => 1f / (1f + MathF.Exp(-x));
    internal static float SigmoidGradient(float y, float dy) => dy * y * (1f - y);
    static float TanhGradient(float y, float dy) => dy * (1f - y * y);

    /// <summary>
    /// tanh from exp and a polynomial, as Cephes' tanhf, because ILGPU compiles MathF.Tanh to PTX's
    /// tanh.approx.f32, whose relative error is about 2⁻¹¹. Below |x| = 0.625 an odd polynomial, where
    /// (1 − t)/(1 + t) would cancel; above, t = e^−2|x| cannot overflow, and t underflows to 0 for large |x|, giving ±1.
    /// Its worst relative error against Math.Tanh was 1.5e-7 over every 37th float from 2⁻¹²⁶ to 20 (CPU accelerator).
    /// </summary>
    static float Tanh(float x)
    {
        float magnitude = MathF.Abs(x);
        if (magnitude < 0.625f)
        {
            if (x == 0f) return x; // keeps −0's sign, as MathF.Tanh and torch.tanh do
            float s = x * x;
            return ((((-5.70498872745e-3f * s + 2.06390887954e-2f) * s - 5.37397155531e-2f) * s + 1.33314422036e-1f) * s
                    - 3.33332819422e-1f) * s * x + x;
        }
        float t = MathF.Exp(-2f * magnitude);
        float y = (1f - t) / (1f + t);
        return x < 0f ? -y : y;
    }

    [Kernel]
    static void LeakyReluForwardKernel(ArrayView<float> x, ArrayView<float> y, int n, float slope)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            y[i] = LeakyRelu(x[i], slope);
    }

    [Kernel]
    static void LeakyReluBackwardKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int n, float slope)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            dx[i] = LeakyReluGradient(x[i], dy[i], slope);
    }

    [Kernel]
    static void SigmoidForwardKernel(ArrayView<float> x, ArrayView<float> y, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            y[i] = Sigmoid(x[i]);
    }

    [Kernel]
    static void SigmoidBackwardKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            dx[i] = SigmoidGradient(y[i], dy[i]);
    }

    [Kernel]
    static void TanhForwardKernel(ArrayView<float> x, ArrayView<float> y, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            y[i] = Tanh(x[i]);
    }

    [Kernel]
    static void TanhBackwardKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            dx[i] = TanhGradient(y[i], dy[i]);
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuWorkerKernel(int operation, ArrayView<float> input, ArrayView<float> dy, ArrayView<float> output, int n, float slope) =>
        CpuWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, operation, input, dy, output, n, slope);

    /// <summary>
    /// Worker <paramref name="worker"/> of <paramref name="workers"/>: input is x, or y for the sigmoid and tanh
    /// gradients; dy is read only by the backward operations. The LeakyReLU and both gradients take a SIMD vector
    /// of elements at a time with the scalar code's operations in its order, so they equal the portable kernels
    /// to the bit; sigmoid and tanh forward call the same scalar functions one element at a time.
    /// </summary>
    [External("ilgpugan_activation_cpu_worker")]
    static unsafe void CpuWorker(int worker, int workers, int operation, ArrayView<float> inputView, ArrayView<float> dyView,
        ArrayView<float> outputView, int n, float slope)
    {
        float* input = CpuPointer.Of(inputView), dy = CpuPointer.Of(dyView), output = CpuPointer.Of(outputView);
        var (begin, vectorEnd, end) = WorkerSlice.Of(worker, workers, n);
        int width = Vector<float>.Count;
        var slopes = new Vector<float>(slope);
        int i = begin;
        switch ((Operation)operation)
        {
            case Operation.LeakyReluForward:
                for (; i < vectorEnd; i += width)
                {
                    var x = Vector.Load(input + i);
                    Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<float>.Zero), x, slopes * x).Store(output + i);
                }
                for (; i < end; i++) output[i] = LeakyRelu(input[i], slope);
                break;
            case Operation.LeakyReluBackward:
                for (; i < vectorEnd; i += width)
                {
                    var g = Vector.Load(dy + i);
                    Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(input + i), Vector<float>.Zero), g, slopes * g).Store(output + i);
                }
                for (; i < end; i++) output[i] = LeakyReluGradient(input[i], dy[i], slope);
                break;
            case Operation.SigmoidForward:
                for (; i < end; i++) output[i] = Sigmoid(input[i]);
                break;
            case Operation.SigmoidBackward:
                for (; i < vectorEnd; i += width)
                {
                    var y = Vector.Load(input + i);
                    (Vector.Load(dy + i) * y * (Vector<float>.One - y)).Store(output + i);
                }
                for (; i < end; i++) output[i] = SigmoidGradient(input[i], dy[i]);
                break;
            case Operation.TanhForward:
                for (; i < end; i++) output[i] = Tanh(input[i]);
                break;
            case Operation.TanhBackward:
                for (; i < vectorEnd; i += width)
                {
                    var y = Vector.Load(input + i);
                    (Vector.Load(dy + i) * (Vector<float>.One - y * y)).Store(output + i);
                }
                for (; i < end; i++) output[i] = TanhGradient(input[i], dy[i]);
                break;
        }
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>LeakyReLU, sigmoid and tanh, forward and backward, element-wise over n values.</summary>
public sealed class Activations
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, float> leakyReluForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> leakyReluBackward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int> sigmoidForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> sigmoidBackward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int> tanhForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> tanhBackward;

    public Activations(ComputeDevice device)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        leakyReluForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, float>(LeakyReluForwardKernel);
        leakyReluBackward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(LeakyReluBackwardKernel);
        sigmoidForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(SigmoidForwardKernel);
        sigmoidBackward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(SigmoidBackwardKernel);
        tanhForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int>(TanhForwardKernel);
        tanhBackward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(TanhBackwardKernel);
    }

    /// <summary>y = x for x &gt; 0, slope·x otherwise. y may be x.</summary>
    public void LeakyReluForward(ArrayView<float> x, ArrayView<float> y, int n, float slope)
    {
        using var _ = device.Profile("leaky_relu_forward", n, 8.0 * n);
        leakyReluForward(device.GridStride(n), x, y, n, slope);
    }

    /// <summary>dx = dy where the forward input x was &gt; 0, slope·dy otherwise. dx may be dy.</summary>
    public void LeakyReluBackward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int n, float slope)
    {
        using var _ = device.Profile("leaky_relu_backward", n, 12.0 * n);
        leakyReluBackward(device.GridStride(n), x, dy, dx, n, slope);
    }

    /// <summary>y = 1 / (1 + e^−x). y may be x.</summary>
    public void SigmoidForward(ArrayView<float> x, ArrayView<float> y, int n)
    {
        using var _ = device.Profile("sigmoid_forward", 4.0 * n, 8.0 * n);
        sigmoidForward(device.GridStride(n), x, y, n);
    }

    /// <summary>dx = dy·y·(1 − y), from the forward output y. dx may be dy.</summary>
    public void SigmoidBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        using var _ = device.Profile("sigmoid_backward", 3.0 * n, 12.0 * n);
        sigmoidBackward(device.GridStride(n), y, dy, dx, n);
    }

    /// <summary>y = tanh(x). y may be x.</summary>
    public void TanhForward(ArrayView<float> x, ArrayView<float> y, int n)
    {
        using var _ = device.Profile("tanh_forward", 6.0 * n, 8.0 * n);
        tanhForward(device.GridStride(n), x, y, n);
    }

    /// <summary>dx = dy·(1 − y²), from the forward output y, as torch's tanh_backward. dx may be dy.</summary>
    public void TanhBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        using var _ = device.Profile("tanh_backward", 3.0 * n, 12.0 * n);
        tanhBackward(device.GridStride(n), y, dy, dx, n);
    }

    [Kernel]
    static void LeakyReluForwardKernel(ArrayView<float> x, ArrayView<float> y, int n, float slope)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
        {
            float v = x[i];
            y[i] = v > 0f ? v : slope * v;
        }
    }

    [Kernel]
    static void LeakyReluBackwardKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dx, int n, float slope)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            dx[i] = x[i] > 0f ? dy[i] : slope * dy[i];
    }

    [Kernel]
    static void SigmoidForwardKernel(ArrayView<float> x, ArrayView<float> y, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            y[i] = 1f / (1f + MathF.Exp(-x[i]));
    }

    [Kernel]
    static void SigmoidBackwardKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
        {
            float s = y[i];
            dx[i] = dy[i] * s * (1f - s);
        }
    }

    [Kernel]
    static void TanhForwardKernel(ArrayView<float> x, ArrayView<float> y, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            y[i] = MathF.Tanh(x[i]);
    }

    [Kernel]
    static void TanhBackwardKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int n)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
        {
            float t = y[i];
            dx[i] = dy[i] * (1f - t * t);
        }
    }
}

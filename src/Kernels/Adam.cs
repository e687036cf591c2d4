using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>torch.optim.Adam's hyper-parameters; weight decay is Adam's L2 term added to the gradient, not AdamW's.</summary>
public readonly record struct AdamSettings(float LearningRate, float Beta1, float Beta2, float Eps, float WeightDecay)
{
    /// <summary>The reference GAN's optimiser settings.</summary>
    public static AdamSettings Seed => new(2e-4f, 0.9f, 0.999f, 1e-8f, 8e-9f);
}

/// <summary>
/// Adam over a network's whole flat parameter buffer in one launch: parameters, gradients and the moments m, v
/// share one layout, as in llm.c, so the optimiser never needs to know the layers.
/// </summary>
public sealed class Adam
{
    readonly GpuDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamSettings, float, float> stepKernel;

    public Adam(GpuDevice device)
    {
        this.device = device;
        stepKernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, AdamSettings, float, float>(StepKernel);
    }

    /// <summary>
    /// One PyTorch 1.13 Adam step (torch.optim.Adam, _single_tensor_adam, not AdamW) on n values, in place:
    /// g = grad + wd·param; m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²;
    /// param −= (lr/(1−β1^t)) · m / (√v/√(1−β2^t) + eps). <paramref name="step"/> is t, counted from 1.
    /// Gradients are read only.
    /// </summary>
    public void Step(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m, ArrayView<float> v,
        int n, int step, AdamSettings settings)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(step, 1);
        // PyTorch forms these in Python double and rounds them to float where its CUDA kernels take them.
        float stepSize = (float)(settings.LearningRate / (1 - Math.Pow(settings.Beta1, step)));
        float biasCorrection2Sqrt = (float)Math.Sqrt(1 - Math.Pow(settings.Beta2, step));
        using var _ = device.Profile("adam", 16.0 * n, 28.0 * n);
        stepKernel(device.GridStride(n), parameters, gradients, m, v, n, settings, stepSize, biasCorrection2Sqrt);
    }

    /// <summary>1 − β is exact in float for β in [0.5, 1] (Sterbenz), so forming it here adds no rounding.</summary>
    static void StepKernel(ArrayView<float> parameters, ArrayView<float> gradients, ArrayView<float> m,
        ArrayView<float> v, int n, AdamSettings settings, float stepSize, float biasCorrection2Sqrt)
    {
        float beta1 = settings.Beta1, beta2 = settings.Beta2, eps = settings.Eps, weightDecay = settings.WeightDecay;
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
        {
            float param = parameters[i];
            float g = gradients[i] + weightDecay * param;
            float mi = beta1 * m[i] + (1f - beta1) * g;
            float vi = beta2 * v[i] + (1f - beta2) * g * g;
            m[i] = mi;
            v[i] = vi;
            parameters[i] = param - stepSize * (mi / (MathF.Sqrt(vi) / biasCorrection2Sqrt + eps));
        }
    }
}

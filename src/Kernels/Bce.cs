using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>PyTorch's BCELoss (reduction mean) against a single target, loss and gradient in one launch.</summary>
public sealed class Bce
{
    /// <summary>PyTorch clamps each log term at −100 so a probability of exactly 0 or 1 costs 100, not ∞.</summary>
    const float LogFloor = -100f;

    /// <summary>PyTorch's EPSILON in binary_cross_entropy_backward: the floor of the gradient's denominator p·(1−p).</summary>
    const float GradientEpsilon = 1e-12f;

    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, float, float, ArrayView<float>, int, int> lossAndGradient;

    public Bce(ComputeDevice device)
    {
        this.device = device;
        lossAndGradient = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, float, float,
            ArrayView<float>, int, int>(LossAndGradientKernel);
    }

    /// <summary>
    /// Binary cross-entropy of probabilities p[0..n) against one target (0 or 1), PyTorch's BCELoss with
    /// reduction mean: loss = sign · mean_i −(t·max(log p_i, −100) + (1−t)·max(log(1−p_i), −100)).
    /// Writes dp_i = sign · (p_i − t) / max(p_i·(1−p_i), 1e-12) / n (PyTorch's BCELoss backward, eps 1e-12), and
    /// ADDS loss to sums[lossSlot] and mean_i p_i to sums[meanSlot]: statistics stay on the device and the host
    /// reads them once per progress update. sign is +1, or −1 for the saturating generator loss −BCE(D(G(z)),0).
    /// One launch. dp may be p.
    /// </summary>
    public void LossAndGradient(ArrayView<float> p, ArrayView<float> dp, int n, float target, float sign,
        ArrayView<float> sums, int lossSlot, int meanSlot)
    {
        using var _ = device.Profile("bce_loss_and_gradient", 16.0 * n, 8.0 * n);
        lossAndGradient(device.GridStride(n), p, dp, n, target, sign, sums, lossSlot, meanSlot);
    }

    /// <summary>
    /// Every thread writes the gradient of its items; thread 0 alone also sums the loss and p over all n, in
    /// order. No float atomics: ILGPU's CPU accelerator implements them as a compare-exchange loop that never
    /// ends once the sum is NaN (a diverged run hung there), and one ordered sum keeps the statistics
    /// deterministic. n is a batch (≤ 2·4096 here), so the serial sum is a few µs.
    /// </summary>
    [Kernel]
    static void LossAndGradientKernel(ArrayView<float> p, ArrayView<float> dp, int n, float target, float sign,
        ArrayView<float> sums, int lossSlot, int meanSlot)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
        {
            float pi = p[i];
            dp[i] = sign * (pi - target) / XMath.Max(pi * (1f - pi), GradientEpsilon) / n;
        }
        if (Grid.GlobalIndex.X != 0) return;
        float loss = 0f, sumP = 0f;
        for (int i = 0; i < n; i++)
        {
            float pi = p[i];
            // log(1 − p), not log1p(−p): PyTorch 1.13's CPU kernel rounds 1 − p to float first, and so do we.
            loss -= target * XMath.Max(MathF.Log(pi), LogFloor) + (1f - target) * XMath.Max(MathF.Log(1f - pi), LogFloor);
            sumP += pi;
        }
        sums[lossSlot] += sign * loss / n;
        sums[meanSlot] += sumP / n;
    }
}

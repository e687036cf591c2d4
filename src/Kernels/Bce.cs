using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>PyTorch's BCELoss (reduction mean) against a target per part of the batch, loss and gradient in one launch.</summary>
public sealed class Bce
{
    /// <summary>PyTorch clamps each log term at −100 so a probability of exactly 0 or 1 costs 100, not ∞.</summary>
    const float LogFloor = -100f;

    /// <summary>PyTorch's EPSILON in binary_cross_entropy_backward: the floor of the gradient's denominator p·(1−p).</summary>
    const float GradientEpsilon = 1e-12f;

    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, float, float, float, ArrayView<float>, int, int, int,
        int> lossAndGradient;

    /// <summary>Loads the BCE kernel on <paramref name="device"/>.</summary>
    public Bce(ComputeDevice device)
    {
        this.device = device;
        lossAndGradient = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, float, float, float,
            ArrayView<float>, int, int, int, int>(LossAndGradientKernel);
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
        Views.AtLeast(p, n); Views.AtLeast(dp, n); Views.HasSlot(sums, lossSlot); Views.HasSlot(sums, meanSlot);
        using var _ = device.Profile("bce_loss_and_gradient", 16.0 * n, 8.0 * n);
        lossAndGradient(OneGroup, p, dp, n, n, target, target, sign, sums, lossSlot, meanSlot, meanSlot, 0);
    }

    /// <summary>
    /// D's sigmoid and its BCE loss in one launch, for a batch whose rows [0, split) have one target and rows
    /// [split, n) another, as D's real and fake halves do: p = torch.sigmoid(logits), then <see cref="LossAndGradient"/>
    /// on each part (losses added to sums[lossSlot] in part order, mean p to the part's slot), and the gradient
    /// carried back through the sigmoid to dLogits: the same float operations as the launches of sigmoid forward,
    /// BCE per part and sigmoid backward that it replaces. dLogits may be logits.
    /// </summary>
    public void SigmoidLossAndGradient(ArrayView<float> logits, ArrayView<float> dLogits, int n, int split, float firstTarget,
        float secondTarget, float sign, ArrayView<float> sums, int lossSlot, int firstMeanSlot, int secondMeanSlot)
    {
        Views.AtLeast(logits, n); Views.AtLeast(dLogits, n);
        Views.HasSlot(sums, lossSlot); Views.HasSlot(sums, firstMeanSlot); Views.HasSlot(sums, secondMeanSlot);
        if (split < 1 || split > n) throw new ArgumentOutOfRangeException(nameof(split), split, $"the first part is 1 to {n} rows");
        using var _ = device.Profile("sigmoid_bce_loss_and_gradient", 24.0 * n, 8.0 * n);
        lossAndGradient(OneGroup, logits, dLogits, n, split, firstTarget, secondTarget, sign, sums, lossSlot, firstMeanSlot,
            secondMeanSlot, 1);
    }

    /// <summary>
    /// One group: its lanes' partial sums meet in shared memory. On the CPU accelerator one thread, which sums every
    /// item in order as the host would; n is a batch (≤ 2·4096 here), a few µs there.
    /// </summary>
    KernelConfig OneGroup => new(1, device.IsCpu ? 1 : Math.Min(ColumnReduction.MaxGroupSize, device.Accelerator.MaxNumThreadsPerGroup));

    /// <summary>
    /// Each thread takes items lane, lane + lanes, …: it reads an input, adds its loss and p to its partial sums of
    /// the item's part, then writes that item's gradient, so the gradient may be the input. The partial sums meet in
    /// a fixed-order tree (<see cref="ColumnReduction.Sum"/>), and thread 0 adds each part's to sums. No float
    /// atomics: ILGPU's CPU accelerator implements them as a compare-exchange loop that never ends once the sum is
    /// NaN (a diverged run hung there), and a fixed order keeps the statistics deterministic.
    /// fromLogits is an int: ILGPU takes only blittable kernel arguments, and bool is not one (ILGPU PR #966).
    /// </summary>
    [Kernel]
    static void LossAndGradientKernel(ArrayView<float> input, ArrayView<float> gradient, int n, int split, float firstTarget,
        float secondTarget, float sign, ArrayView<float> sums, int lossSlot, int firstMeanSlot, int secondMeanSlot, int fromLogits)
    {
        var partial = SharedMemory.Allocate<float>(ColumnReduction.MaxGroupSize);
        int lanes = Group.DimX, lane = Group.IdxX;
        float firstLoss = 0f, firstSum = 0f, secondLoss = 0f, secondSum = 0f;
        for (int i = lane; i < n; i += lanes)
        {
            float pi = fromLogits != 0 ? Activations.Sigmoid(input[i]) : input[i];
            bool first = i < split;
            float target = first ? firstTarget : secondTarget;
            // log(1 − p), not log1p(−p): PyTorch 1.13's CPU kernel rounds 1 − p to float first, and so do we.
            float term = target * XMath.Max(MathF.Log(pi), LogFloor) + (1f - target) * XMath.Max(MathF.Log(1f - pi), LogFloor);
            if (first)
            {
                firstLoss -= term;
                firstSum += pi;
            }
            else
            {
                secondLoss -= term;
                secondSum += pi;
            }
            float dp = sign * (pi - target) / XMath.Max(pi * (1f - pi), GradientEpsilon) / (first ? split : n - split);
            gradient[i] = fromLogits != 0 ? Activations.SigmoidGradient(pi, dp) : dp;
        }
        firstLoss = ColumnReduction.Sum(partial, firstLoss, 0, lane, 1, lanes);
        firstSum = ColumnReduction.Sum(partial, firstSum, 0, lane, 1, lanes);
        secondLoss = ColumnReduction.Sum(partial, secondLoss, 0, lane, 1, lanes);
        secondSum = ColumnReduction.Sum(partial, secondSum, 0, lane, 1, lanes);
        if (lane != 0) return;
        sums[lossSlot] += sign * firstLoss / split;
        sums[firstMeanSlot] += firstSum / split;
        if (split == n) return;
        sums[lossSlot] += sign * secondLoss / (n - split);
        sums[secondMeanSlot] += secondSum / (n - split);
    }
}

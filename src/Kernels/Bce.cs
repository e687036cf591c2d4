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
    readonly Action<KernelConfig, LossShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>> lossAndGradient;

    /// <summary>Loads the BCE kernel on <paramref name="device"/>.</summary>
    public Bce(ComputeDevice device)
    {
        this.device = device;
        lossAndGradient = device.Accelerator.LoadStreamKernel<LossShape, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>>(LossAndGradientKernel);
    }

    /// <summary>
    /// A launch's scalars, one argument: the items, the parts' split and targets, the loss's sign, the slots of the
    /// sums, whether the inputs are logits, and the logits' Linear's width (0 for none) and LeakyReLU slope. Every
    /// field is 4 bytes wide, so the layout is the same in .NET and on the devices. Public only because the launcher
    /// ILGPU generates must see a kernel's parameter types.
    /// </summary>
    public readonly record struct LossShape(int N, int Split, float FirstTarget, float SecondTarget, float Sign, int LossSlot,
        int FirstMeanSlot, int SecondMeanSlot, int FromLogits, int Width, float Slope);

    /// <summary>
    /// The Linear of one output that makes the logits from its input x [n, Width]: its weight row [Width], and where
    /// the loss's launch writes that Linear's input gradient dX [n, Width] = dLogits·w, the rank-one product its
    /// multiply would make, carried through the backward of the LeakyReLU that produced x when one is given
    /// (<see cref="LeakyReluOutput"/> = x, its <see cref="LeakyReluSlope"/> ≥ 0), as that multiply's epilogue would.
    /// </summary>
    public readonly record struct LogitLayer(ArrayView<float> Weight, int Width, ArrayView<float> InputGradient,
        ArrayView<float> LeakyReluOutput = default, float? LeakyReluSlope = null);

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
        lossAndGradient(OneGroup, new(n, n, target, target, sign, lossSlot, meanSlot, meanSlot, 0, 0, 1f), p, dp, sums, p, p, p);
    }

    /// <summary>
    /// D's sigmoid and its BCE loss in one launch, for a batch whose rows [0, split) have one target and rows
    /// [split, n) another, as D's real and fake halves do: p = torch.sigmoid(logits), then <see cref="LossAndGradient"/>
    /// on each part (losses added to sums[lossSlot] in part order, mean p to the part's slot), and the gradient
    /// carried back through the sigmoid to dLogits: the same float operations as the launches of sigmoid forward,
    /// BCE per part and sigmoid backward that it replaces. dLogits may be logits. With <paramref name="logitLayer"/>
    /// given, the gradient goes on through the Linear that made the logits to its input (<see cref="LogitLayer"/>),
    /// in the same launch where its input gradient's multiply took one of its own.
    /// </summary>
    public void SigmoidLossAndGradient(ArrayView<float> logits, ArrayView<float> dLogits, int n, int split, float firstTarget,
        float secondTarget, float sign, ArrayView<float> sums, int lossSlot, int firstMeanSlot, int secondMeanSlot,
        LogitLayer? logitLayer = null)
    {
        Views.AtLeast(logits, n); Views.AtLeast(dLogits, n);
        Views.HasSlot(sums, lossSlot); Views.HasSlot(sums, firstMeanSlot); Views.HasSlot(sums, secondMeanSlot);
        if (split < 1 || split > n) throw new ArgumentOutOfRangeException(nameof(split), split, $"the first part is 1 to {n} rows");
        // A kernel cannot take a default view: without a layer the logits stand in for its views and are not read as them.
        var (weight, width, dInput, gate, slope) = (logits, 0, logits, logits, 1f);
        if (logitLayer is { } layer)
        {
            bool gated = layer.LeakyReluOutput.Length > 0;
            long size = (long)n * layer.Width;
            if (layer.Width < 1 || layer.Weight.Length < layer.Width || layer.InputGradient.Length < size
                || (gated && layer.LeakyReluOutput.Length < size))
                throw new ArgumentException($"the logits' Linear of width {layer.Width}: weight {layer.Weight.Length}, input gradient {layer.InputGradient.Length}, activation {layer.LeakyReluOutput.Length} for {n} rows");
            if (gated != layer.LeakyReluSlope.HasValue || (gated && !(layer.LeakyReluSlope >= 0f)))
                throw new ArgumentException("LeakyReLU's backward takes its output and a slope ≥ 0, or neither");
            // A slope of 1 is the identity, exactly: without an activation the input gradient stands in for its output.
            (weight, width, dInput, gate, slope) = (layer.Weight, layer.Width, layer.InputGradient,
                gated ? layer.LeakyReluOutput : layer.InputGradient, layer.LeakyReluSlope ?? 1f);
        }
        using var _ = device.Profile("sigmoid_bce_loss_and_gradient", 24.0 * n + 2.0 * n * width, 8.0 * n + 12.0 * n * width);
        lossAndGradient(OneGroup, new(n, split, firstTarget, secondTarget, sign, lossSlot, firstMeanSlot, secondMeanSlot, 1, width,
            slope), logits, dLogits, sums, weight, gate, dInput);
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
    /// FromLogits is an int: ILGPU takes only blittable kernel arguments, and bool is not one (ILGPU PR #966).
    /// With width &gt; 0 the thread also writes its items' rows of the logits' Linear's input gradient from the
    /// gradient it holds, so no thread reads what another wrote.
    /// </summary>
    [Kernel]
    static void LossAndGradientKernel(LossShape shape, ArrayView<float> input, ArrayView<float> gradient, ArrayView<float> sums,
        ArrayView<float> weight, ArrayView<float> gate, ArrayView<float> dInput)
    {
        int n = shape.N, split = shape.Split, width = shape.Width, fromLogits = shape.FromLogits;
        float firstTarget = shape.FirstTarget, secondTarget = shape.SecondTarget, sign = shape.Sign, slope = shape.Slope;
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
            float g = fromLogits != 0 ? Activations.SigmoidGradient(pi, dp) : dp;
            gradient[i] = g;
            for (int j = 0, at = i * width; j < width; j++, at++)
            {
                // The multiply's product over a depth of one, then its epilogue: LeakyReLU's backward at the gate.
                dInput[at] = Activations.LeakyReluGradient(gate[at], g * weight[j], slope);
            }
        }
        firstLoss = ColumnReduction.Sum(partial, firstLoss, 0, lane, 1, lanes);
        firstSum = ColumnReduction.Sum(partial, firstSum, 0, lane, 1, lanes);
        secondLoss = ColumnReduction.Sum(partial, secondLoss, 0, lane, 1, lanes);
        secondSum = ColumnReduction.Sum(partial, secondSum, 0, lane, 1, lanes);
        if (lane != 0) return;
        sums[shape.LossSlot] += sign * firstLoss / split;
        sums[shape.FirstMeanSlot] += firstSum / split;
        if (split == n) return;
        sums[shape.LossSlot] += sign * secondLoss / (n - split);
        sums[shape.SecondMeanSlot] += secondSum / (n - split);
    }
}

using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// Softmax cross-entropy over the rows of a [rows, classes] matrix of logits (PyTorch's cross_entropy with
/// probability targets, reduction mean): the loss and its gradient in one launch, and the softmax alone for
/// predictions. One thread owns a row: classes is small (10 for MNIST), so a row is a short serial loop.
/// </summary>
public sealed class SoftmaxCrossEntropy
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>, int> lossAndGradient;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> probabilities;

    /// <summary>Loads the softmax kernels on <paramref name="device"/>.</summary>
    public SoftmaxCrossEntropy(ComputeDevice device)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        lossAndGradient = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int,
            ArrayView<float>, int>(LossAndGradientKernel);
        probabilities = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(ProbabilitiesKernel);
    }

    /// <summary>
    /// loss = mean_r Σ_c −t[r,c]·log softmax(z[r])_c for targets t whose rows are distributions (one-hot labels);
    /// writes dz[r,c] = (softmax(z[r])_c − t[r,c]) / rows and ADDS loss to sums[lossSlot], so the host reads the
    /// loss once per progress update. dz must not be z: thread 0 reads every row's logits for the loss.
    /// </summary>
    public void LossAndGradient(ArrayView<float> logits, ArrayView<float> targets, ArrayView<float> dLogits, int rows,
        int classes, ArrayView<float> sums, int lossSlot)
    {
        long n = (long)rows * classes;
        Views.AtLeast(logits, n); Views.AtLeast(targets, n); Views.AtLeast(dLogits, n); Views.HasSlot(sums, lossSlot);
        using var _ = device.Profile("softmax_cross_entropy", 8.0 * n, 12.0 * n);
        lossAndGradient(device.GridStride(rows), logits, targets, dLogits, rows, classes, sums, lossSlot);
    }

    /// <summary>p[r] = softmax(z[r]) per row. p may be z.</summary>
    public void Probabilities(ArrayView<float> logits, ArrayView<float> probabilities, int rows, int classes)
    {
        long n = (long)rows * classes;
        Views.AtLeast(logits, n); Views.AtLeast(probabilities, n);
        using var _ = device.Profile("softmax", 4.0 * n, 8.0 * n);
        this.probabilities(device.GridStride(rows), logits, probabilities, rows, classes);
    }

    /// <summary>log Σ_c e^(z[r,c]) − max: the shift keeps every exponent ≤ 0, so nothing overflows.</summary>
    static float ShiftedLogSumExp(ArrayView<float> logits, int offset, int classes, float max)
    {
        float sum = 0f;
        for (int c = 0; c < classes; c++) sum += MathF.Exp(logits[offset + c] - max);
        return MathF.Log(sum);
    }

    static float RowMax(ArrayView<float> logits, int offset, int classes)
    {
        float max = logits[offset];
        for (int c = 1; c < classes; c++) max = XMath.Max(max, logits[offset + c]);
        return max;
    }

    /// <summary>
    /// As <see cref="Bce"/>: every thread writes its rows' gradients, thread 0 alone sums the loss over all rows in
    /// order, without float atomics (they never end on NaN on the CPU accelerator) and deterministically.
    /// </summary>
    [Kernel]
    static void LossAndGradientKernel(ArrayView<float> logits, ArrayView<float> targets, ArrayView<float> dLogits,
        int rows, int classes, ArrayView<float> sums, int lossSlot)
    {
        for (int r = Grid.GlobalIndex.X, step = GridStrideLoop.Step; r < rows; r += step)
        {
            int offset = r * classes;
            float max = RowMax(logits, offset, classes);
            float logSum = ShiftedLogSumExp(logits, offset, classes, max);
            for (int c = 0; c < classes; c++)
            {
                int i = offset + c;
                dLogits[i] = (MathF.Exp(logits[i] - max - logSum) - targets[i]) / rows;
            }
        }
        if (Grid.GlobalIndex.X != 0) return;
        float loss = 0f;
        for (int r = 0; r < rows; r++)
        {
            int offset = r * classes;
            float max = RowMax(logits, offset, classes);
            float logSum = ShiftedLogSumExp(logits, offset, classes, max);
            for (int c = 0; c < classes; c++)
                loss -= targets[offset + c] * (logits[offset + c] - max - logSum);
        }
        sums[lossSlot] += loss / rows;
    }

    [Kernel]
    static void ProbabilitiesKernel(ArrayView<float> logits, ArrayView<float> probabilities, int rows, int classes)
    {
        for (int r = Grid.GlobalIndex.X, step = GridStrideLoop.Step; r < rows; r += step)
        {
            int offset = r * classes;
            float max = RowMax(logits, offset, classes);
            float logSum = ShiftedLogSumExp(logits, offset, classes, max);
            for (int c = 0; c < classes; c++)
                probabilities[offset + c] = MathF.Exp(logits[offset + c] - max - logSum);
        }
    }
}

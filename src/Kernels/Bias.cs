using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>The bias gradient: column sums of a [rows, cols] matrix.</summary>
public sealed class Bias
{
    readonly GpuDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int, int> backward;

    public Bias(GpuDevice device)
    {
        this.device = device;
        backward = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int, int>(BackwardKernel);
    }

    /// <summary>
    /// dbias[c] = Σ_r dy[r,c] (+ old dbias when accumulate): the bias gradient, column sums of a [rows, cols] matrix.
    /// </summary>
    public void Backward(ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols, bool accumulate = false)
    {
        using var _ = device.Profile("bias_backward", (double)rows * cols, 4.0 * rows * cols + (accumulate ? 8.0 : 4.0) * cols);
        backward(device.GridStride(cols), dy, dbias, rows, cols, accumulate ? 1 : 0);
    }

    /// <summary>
    /// Σ_r m[r,c]. One thread owns a column and walks down it, so neighbouring threads read neighbouring
    /// addresses on a GPU and no group barrier is needed (they cost milliseconds on the CPU accelerator).
    /// </summary>
    internal static float ColumnSum(ArrayView<float> m, int rows, int cols, int c)
    {
        float sum = 0f;
        for (int r = 0; r < rows; r++) sum += m[r * cols + c];
        return sum;
    }

    // accumulate is an int: ILGPU takes only blittable kernel arguments, and bool is not one (ILGPU PR #966).
    static void BackwardKernel(ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols, int accumulate)
    {
        int step = GridStrideLoop.Step;
        for (int c = Grid.GlobalIndex.X; c < cols; c += step)
        {
            float sum = ColumnSum(dy, rows, cols, c);
            dbias[c] = accumulate != 0 ? dbias[c] + sum : sum;
        }
    }
}

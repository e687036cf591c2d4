using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>The bias gradient: column sums of a [rows, cols] matrix.</summary>
public sealed class Bias
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> backward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> backwardThroughLeakyRelu;

    public Bias(ComputeDevice device)
    {
        this.device = device;
        backward = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(BackwardKernel);
        backwardThroughLeakyRelu = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>,
            ArrayView<float>, int, int, float>(BackwardThroughLeakyReluKernel);
    }

    /// <summary>dbias[c] = Σ_r dy[r,c]: the bias gradient, column sums of a [rows, cols] matrix.</summary>
    public void Backward(ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols)
    {
        using var _ = device.Profile("bias_backward", (double)rows * cols, 4.0 * rows * cols + 4.0 * cols);
        backward(device.GridStride(cols), dy, dbias, rows, cols);
    }

    /// <summary>
    /// The backward of Linear → LeakyReLU for the layer's pre-activation z, from its activated output y
    /// [rows, cols]: dy becomes dz = dy where y &gt; 0, slope·dy elsewhere (IN PLACE), and dbias[c] = Σ_r dz[r,c].
    /// For a slope ≥ 0, y &gt; 0 exactly where z &gt; 0, so z need not be kept. One launch for what took two.
    /// </summary>
    public void BackwardThroughLeakyRelu(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dbias, int rows,
        int cols, float slope)
    {
        if (!(slope >= 0f)) throw new ArgumentOutOfRangeException(nameof(slope), slope, "y tells where z > 0 only for a slope ≥ 0");
        using var _ = device.Profile("bias_backward_through_leaky_relu", 2.0 * rows * cols, 12.0 * rows * cols + 4.0 * cols);
        backwardThroughLeakyRelu(device.GridStride(cols), y, dy, dbias, rows, cols, slope);
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

    [Kernel]
    static void BackwardKernel(ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols)
    {
        int step = GridStrideLoop.Step;
        for (int c = Grid.GlobalIndex.X; c < cols; c += step)
            dbias[c] = ColumnSum(dy, rows, cols, c);
    }

    [Kernel]
    static void BackwardThroughLeakyReluKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dbias,
        int rows, int cols, float slope)
    {
        int step = GridStrideLoop.Step;
        for (int c = Grid.GlobalIndex.X; c < cols; c += step)
        {
            float sum = 0f;
            for (int r = 0; r < rows; r++)
            {
                int i = r * cols + c;
                float g = y[i] > 0f ? dy[i] : slope * dy[i];
                dy[i] = g;
                sum += g;
            }
            dbias[c] = sum;
        }
    }
}

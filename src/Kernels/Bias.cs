using System.Numerics;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// The bias gradient: column sums of a [rows, cols] matrix. The CPU workers give each core a contiguous slice of
/// columns and sum a SIMD vector of columns down the rows at a time, each column in row order as the portable
/// kernels do, so the two agree bit for bit.
/// </summary>
public sealed class Bias
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> backward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> backwardThroughLeakyRelu;

    public Bias(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        Variant = device.Resolve(variant);
        bool cpu = Variant == KernelVariant.CpuWorker;
        backward = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(
            cpu ? CpuBackwardKernel : BackwardKernel);
        backwardThroughLeakyRelu = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>,
            ArrayView<float>, int, int, float>(cpu ? CpuBackwardThroughLeakyReluKernel : BackwardThroughLeakyReluKernel);
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

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
        for (int c = Grid.GlobalIndex.X, step = GridStrideLoop.Step; c < cols; c += step)
            BackwardThroughLeakyReluColumn(y, dy, dbias, rows, cols, slope, c);
    }

    static void BackwardThroughLeakyReluColumn(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dbias,
        int rows, int cols, float slope, int c)
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

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuBackwardKernel(ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols) =>
        CpuColumnSumWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, dy, dy, dbias, rows, cols, 0f, 0);

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuBackwardThroughLeakyReluKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dbias,
        int rows, int cols, float slope) =>
        CpuColumnSumWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, y, dy, dbias, rows, cols, slope, 1);

    /// <summary>
    /// Both backward kernels for a vector of columns at once; through the LeakyReLU (<paramref name="throughLeakyRelu"/>
    /// ≠ 0) dy is first replaced by dz in place. The columns past the last whole vector go through the scalar code.
    /// </summary>
    [External("ilgpugan_bias_backward_cpu_worker")]
    static unsafe void CpuColumnSumWorker(int worker, int workers, ArrayView<float> yView, ArrayView<float> dyView,
        ArrayView<float> dbiasView, int rows, int cols, float slope, int throughLeakyRelu)
    {
        float* y = CpuPointer.Of(yView), dy = CpuPointer.Of(dyView), dbias = CpuPointer.Of(dbiasView);
        var (begin, vectorEnd, end) = WorkerSlice.Of(worker, workers, cols);
        var slopes = new Vector<float>(slope);
        for (int c = begin; c < vectorEnd; c += Vector<float>.Count)
        {
            var sum = Vector<float>.Zero;
            for (int r = 0; r < rows; r++)
            {
                float* at = dy + (long)r * cols + c;
                var g = Vector.Load(at);
                if (throughLeakyRelu != 0)
                {
                    g = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(y + (long)r * cols + c), Vector<float>.Zero), g, slopes * g);
                    g.Store(at);
                }
                sum += g;
            }
            sum.Store(dbias + c);
        }
        for (int c = vectorEnd; c < end; c++)
        {
            if (throughLeakyRelu != 0) BackwardThroughLeakyReluColumn(yView, dyView, dbiasView, rows, cols, slope, c);
            else dbiasView[c] = ColumnSum(dyView, rows, cols, c);
        }
    }
}

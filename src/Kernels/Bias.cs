using System.Numerics;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// The bias gradient: column sums of a [rows, cols] matrix. The portable kernel sums each column with many threads
/// and a fixed-order tree (<see cref="ColumnReduction"/>). The CPU workers give each core a contiguous slice of
/// columns and sum a SIMD vector of columns down the rows at a time, each column in row order.
/// </summary>
public sealed class Bias
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int, int> backward;

    /// <summary>Loads the bias kernels on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public Bias(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        Variant = device.Resolve(variant);
        bool cpu = Variant == KernelVariant.CpuWorker;
        backward = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float,
            int, int>(cpu ? CpuBackwardKernel : BackwardKernel);
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>A CPU worker per core, or the portable kernel's groups of column tiles.</summary>
    (KernelConfig Config, int ColumnsPerGroup) Launch(int cols) =>
        Variant == KernelVariant.CpuWorker ? (device.CpuWorkers, 0) : ColumnReduction.Launch(device, cols);

    /// <summary>dbias[c] = Σ_r dy[r,c]: the bias gradient, column sums of a [rows, cols] matrix.</summary>
    public void Backward(ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols)
    {
        Views.AtLeast(dy, (long)rows * cols); Views.AtLeast(dbias, cols);
        using var _ = device.Profile("bias_backward", (double)rows * cols, 4.0 * rows * cols + 4.0 * cols);
        // A kernel cannot take a default view: dy stands in for y and is not read as one.
        var (config, columnsPerGroup) = Launch(cols);
        backward(config, dy, dy, dbias, rows, cols, 0f, 0, columnsPerGroup);
    }

    /// <summary>
    /// The backward of Linear → LeakyReLU for the layer's pre-activation z, from its activated output y
    /// [rows, cols]: dy becomes dz = dy where y &gt; 0, slope·dy elsewhere (IN PLACE), and dbias[c] = Σ_r dz[r,c].
    /// For a slope ≥ 0, y &gt; 0 exactly where z &gt; 0, so z need not be kept. One launch for what took two.
    /// </summary>
    public void BackwardThroughLeakyRelu(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dbias, int rows,
        int cols, float slope)
    {
        Views.AtLeast(y, (long)rows * cols); Views.AtLeast(dy, (long)rows * cols); Views.AtLeast(dbias, cols);
        if (!(slope >= 0f)) throw new ArgumentOutOfRangeException(nameof(slope), slope, "y tells where z > 0 only for a slope ≥ 0");
        using var _ = device.Profile("bias_backward_through_leaky_relu", 2.0 * rows * cols, 12.0 * rows * cols + 4.0 * cols);
        var (config, columnsPerGroup) = Launch(cols);
        backward(config, y, dy, dbias, rows, cols, slope, 1, columnsPerGroup);
    }

    /// <summary>Σ_r m[r,c] in row order: the CPU workers' tail columns and BatchNorm's CPU worker.</summary>
    internal static float ColumnSum(ArrayView<float> m, int rows, int cols, int c)
    {
        float sum = 0f;
        for (int r = 0; r < rows; r++) sum += m[r * cols + c];
        return sum;
    }

    /// <summary>
    /// Both portable kernels, a group per tile of columns (<see cref="ColumnReduction"/>): through the LeakyReLU
    /// (<paramref name="throughLeakyRelu"/> ≠ 0) each thread first replaces its elements of dy by dz in place.
    /// </summary>
    [Kernel]
    static void BackwardKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols,
        float slope, int throughLeakyRelu, int columnsPerGroup)
    {
        var partial = SharedMemory.Allocate<float>(ColumnReduction.MaxGroupSize);
        int columns = columnsPerGroup, lanes = Group.DimX / columns, thread = Group.IdxX;
        int column = thread % columns, lane = thread / columns;
        int tiles = (cols + columns - 1) / columns;
        for (int tile = Grid.IdxX, step = Grid.DimX; tile < tiles; tile += step)
        {
            int c = tile * columns + column;
            bool owns = c < cols && lane < lanes;
            float sum = 0f;
            if (owns)
                for (int r = lane; r < rows; r += lanes)
                {
                    int i = r * cols + c;
                    float g = dy[i];
                    if (throughLeakyRelu != 0)
                    {
                        g = y[i] > 0f ? g : slope * g;
                        dy[i] = g;
                    }
                    sum += g;
                }
            sum = ColumnReduction.Sum(partial, sum, column, lane, columns, lanes);
            if (owns && lane == 0) dbias[c] = sum;
        }
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
    static void CpuBackwardKernel(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dbias, int rows, int cols,
        float slope, int throughLeakyRelu, int columnsPerGroup) =>
        CpuColumnSumWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, y, dy, dbias, rows, cols, slope, throughLeakyRelu);

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

using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>Row gathers: a training batch assembled on the device from the shuffled index, so no data crosses the bus per step.</summary>
public sealed class Gather
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, int> rowsKernel;

    public Gather(ComputeDevice device)
    {
        this.device = device;
        rowsKernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, int>(RowsKernel);
    }

    /// <summary>
    /// batch[r, :] = source[index[start + r], :] for r in [0, rows); source and batch are row-major with rows
    /// of <paramref name="width"/> floats. The index may repeat rows and be in any order; batch must not alias source.
    /// </summary>
    public void Rows(ArrayView<float> source, ArrayView<int> index, int start, ArrayView<float> batch, int rows, int width)
    {
        int n = rows * width;
        using var _ = device.Profile("gather_rows", 0, 8.0 * n + 4.0 * rows);
        rowsKernel(device.GridStride(n), source, index, start, batch, rows, width);
    }

    [Kernel]
    static void RowsKernel(ArrayView<float> source, ArrayView<int> index, int start, ArrayView<float> batch, int rows, int width)
    {
        int n = rows * width;
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
        {
            int row = i / width;
            batch[i] = source[index[start + row] * width + (i - row * width)];
        }
    }
}

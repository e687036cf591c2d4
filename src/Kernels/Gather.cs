using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// Row gathers: a training batch assembled on the device from the shuffled index, so no data crosses the bus per
/// step. On the CPU accelerator each core copies whole rows (<see cref="CpuRowsWorker"/>), where the portable
/// kernel divides and range-checks per element.
/// </summary>
public sealed class Gather
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, int> rowsKernel;

    /// <summary>Loads the gather kernel on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public Gather(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        Variant = device.Resolve(variant);
        rowsKernel = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int, ArrayView<float>, int, int>(
            Variant == KernelVariant.CpuWorker ? CpuRowsKernel : RowsKernel);
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>
    /// batch[r, :] = source[index[start + r], :] for r in [0, rows); source and batch are row-major with rows
    /// of <paramref name="width"/> floats. The index may repeat rows and be in any order; batch must not alias source.
    /// </summary>
    public void Rows(ArrayView<float> source, ArrayView<int> index, int start, ArrayView<float> batch, int rows, int width)
    {
        // The rows the index names are on the device, unread here: source is checked for one row.
        Views.AtLeast(source, width); Views.AtLeast(index, (long)start + rows); Views.AtLeast(batch, (long)rows * width);
        int n = rows * width;
        var config = device.GridStride(n);
        device.Recorder?.Add("gather_rows", config, source, index, start, batch, rows, width);
        using var _ = device.Profile("gather_rows", 0, 8.0 * n + 4.0 * rows);
        rowsKernel(config, source, index, start, batch, rows, width);
    }

    [Kernel]
    internal static void RowsKernel(ArrayView<float> source, ArrayView<int> index, int start, ArrayView<float> batch, int rows, int width)
    {
        int n = rows * width;
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
        {
            int row = i / width;
            batch[i] = source[index[start + row] * width + (i - row * width)];
        }
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuRowsKernel(ArrayView<float> source, ArrayView<int> index, int start, ArrayView<float> batch, int rows, int width) =>
        CpuRowsWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, source, index, start, batch, rows, width);

    /// <summary>Worker <paramref name="worker"/> copies its contiguous run of the batch's rows.</summary>
    [External("ilgpugan_gather_rows_cpu_worker")]
    internal static unsafe void CpuRowsWorker(int worker, int workers, ArrayView<float> sourceView, ArrayView<int> indexView, int start,
        ArrayView<float> batchView, int rows, int width)
    {
        float* source = CpuPointer.Of(sourceView), batch = CpuPointer.Of(batchView);
        int* index = CpuPointer.Of(indexView);
        int begin = (int)((long)rows * worker / workers), end = (int)((long)rows * (worker + 1) / workers);
        for (int r = begin; r < end; r++)
            new ReadOnlySpan<float>(source + (long)index[start + r] * width, width).CopyTo(new Span<float>(batch + (long)r * width, width));
    }
}

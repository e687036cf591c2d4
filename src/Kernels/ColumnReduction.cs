using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// How the portable kernels reduce the columns of a [rows, cols] matrix over its rows (BatchNorm's statistics and
/// backward, the bias gradients): a group takes a tile of adjacent columns, its threads split the rows of each
/// column into lanes (thread t: column t mod columns, lane t / columns, rows lane, lane + lanes, …), and the lanes'
/// partial sums meet in shared memory by a tree whose order depends only on the group's shape, so a result is the
/// same at every launch. One thread per column walking all its rows gave a GPU 1–4 groups and 128–256 dependent
/// loads per thread; on a GPU this gives 8 columns a group (a warp reads 4 rows of 32 contiguous bytes), cols/8
/// groups, and rows/32 loads per thread.
/// </summary>
internal static class ColumnReduction
{
    /// <summary>The most threads a group of these kernels has: the size of their shared partial sums.</summary>
    public const int MaxGroupSize = ComputeDevice.GpuGroupSize;

    /// <summary>Lanes a group gives each column on a GPU, before any column of another tile: a warp's worth.</summary>
    const int LanesPerColumn = 32;

    /// <summary>
    /// The launch of a column reduction over <paramref name="cols"/> columns, and the columns of each group's tile
    /// (a kernel argument): a group per tile, as many threads as the device allows up to <see cref="MaxGroupSize"/>.
    /// </summary>
    public static (KernelConfig Config, int ColumnsPerGroup) Launch(ComputeDevice device, int cols)
    {
        int groupSize = device.IsCpu ? device.CpuWorkerCount : Math.Min(MaxGroupSize, device.Accelerator.MaxNumThreadsPerGroup);
        int columnsPerGroup = Math.Max(1, groupSize / LanesPerColumn);
        int tiles = (cols + columnsPerGroup - 1) / columnsPerGroup;
        // The CPU accelerator runs its groups one after another anyway: one group walks every tile.
        int groups = device.IsCpu ? 1 : Math.Max(1, tiles);
        return (new KernelConfig(groups, groupSize), columnsPerGroup);
    }

    /// <summary>
    /// Inside a kernel: the sum over the group's lanes of each thread's <paramref name="value"/> for its column, given
    /// to every thread. Every thread of the group must call it, the same number of times (it holds barriers);
    /// threads past the last whole lane pass 0 and are left out.
    /// </summary>
    public static float Sum(ArrayView<float> partial, float value, int column, int lane, int columns, int lanes)
    {
        if (lane < lanes) partial[lane * columns + column] = value;
        Group.Barrier();
        int half = 1;
        while (half < lanes) half <<= 1;
        for (half >>= 1; half > 0; half >>= 1)
        {
            if (lane < half && lane + half < lanes)
                partial[lane * columns + column] += partial[(lane + half) * columns + column];
            Group.Barrier();
        }
        float total = partial[column];
        // The next call's writes wait until every thread has read this one's total.
        Group.Barrier();
        return total;
    }
}

using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// How a CPU worker gets at its memory: every CpuWorker kernel takes views, as the portable kernels do, and its
/// <c>[External]</c> body turns them into pointers here. On the CPU accelerator a view's address is host memory.
/// </summary>
public static class CpuPointer
{
    public static unsafe float* Of(ArrayView<float> view) => (float*)view.LoadEffectiveAddressAsPtr();
}

/// <summary>
/// A CPU worker's share of a column kernel: one contiguous run of columns per core, cut at whole SIMD vectors
/// so that each worker loads full vectors; columns from VectorEnd to End are the last worker's scalar tail.
/// </summary>
public readonly record struct ColumnSlice(int Begin, int VectorEnd, int End)
{
    public static ColumnSlice Of(int worker, int workers, int cols)
    {
        int width = System.Numerics.Vector<float>.Count;
        int vectors = cols / width;
        int begin = vectors * worker / workers * width;
        int vectorEnd = vectors * (worker + 1) / workers * width;
        return new ColumnSlice(begin, vectorEnd, worker == workers - 1 ? cols : vectorEnd);
    }
}

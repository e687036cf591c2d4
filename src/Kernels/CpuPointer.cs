using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// How a CPU worker gets at its memory: every CpuWorker kernel takes views, as the portable kernels do, and its
/// <c>[External]</c> body turns them into pointers here. On the CPU accelerator a view's address is host memory.
/// </summary>
internal static class CpuPointer
{
    public static unsafe float* Of(ArrayView<float> view) => (float*)view.LoadEffectiveAddressAsPtr();

    public static unsafe int* Of(ArrayView<int> view) => (int*)view.LoadEffectiveAddressAsPtr();
}

/// <summary>
/// A CPU worker's share of n columns or elements: one contiguous run per core, cut at whole SIMD vectors so that
/// each worker loads full vectors and no two cores write one cache line; items from VectorEnd to End are the last
/// worker's scalar tail.
/// </summary>
internal readonly record struct WorkerSlice(int Begin, int VectorEnd, int End)
{
    public static WorkerSlice Of(int worker, int workers, int n)
    {
        int width = System.Numerics.Vector<float>.Count;
        int vectors = n / width;
        int begin = (int)((long)vectors * worker / workers * width);
        int vectorEnd = (int)((long)vectors * (worker + 1) / workers * width);
        return new WorkerSlice(begin, vectorEnd, worker == workers - 1 ? n : vectorEnd);
    }
}

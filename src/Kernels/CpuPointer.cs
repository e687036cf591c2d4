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

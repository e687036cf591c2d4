namespace IlgpuGan.Kernels;

/// <summary>
/// The implementations an op can run. Portable: a kernel ILGPU compiles for every accelerator. CpuWorker: a kernel
/// whose body is an <c>[External]</c> method that ILGPU's frontend never compiles, which the CPU accelerator runs
/// as ordinary .NET code with pointers and SIMD; no GPU can run it. Auto: CpuWorker where the op has one and the
/// device is the CPU accelerator, else Portable.
/// </summary>
public enum KernelVariant
{
    /// <summary>CpuWorker where the op has one and the device is the CPU accelerator, else Portable.</summary>
    Auto,
    /// <summary>The kernel ILGPU compiles for every accelerator.</summary>
    Portable,
    /// <summary>The CPU accelerator's .NET worker, with pointers and SIMD.</summary>
    CpuWorker,
}

/// <summary>
/// Marks a method that this assembly loads as an ILGPU kernel, with the variant it is. The PTX check compiles
/// every portable one for CUDA and assembles it with ptxas; a test fails on a kernel loaded without this mark.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
internal sealed class KernelAttribute(KernelVariant variant = KernelVariant.Portable) : Attribute
{
    public KernelVariant Variant { get; } = variant;
}

using ILGPU;

namespace IlgpuGan.Kernels;

/// <summary>
/// Inside a kernel: the distance between one thread's items in a grid-stride loop. Read it once into a local:
/// on the CPU accelerator Grid and Group are thread-local lookups, and re-reading them every iteration made a
/// 131k-element copy 10–40× slower (measured on this project's 2-core machine).
/// </summary>
internal static class GridStrideLoop
{
    public static int Step => Grid.DimX * Group.DimX;
}

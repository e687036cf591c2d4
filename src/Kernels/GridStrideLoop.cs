using ILGPU;

namespace IlgpuGan.Kernels;

/// <summary>Inside a kernel: the distance between one thread's items in a grid-stride loop.</summary>
public static class GridStrideLoop
{
    public static int Step => Grid.DimX * Group.DimX;
}

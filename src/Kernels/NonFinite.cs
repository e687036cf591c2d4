using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// Where a tensor first holds NaN or an infinity: a reduction on the device, so that a run checks its whole state
/// at an epoch's end with one copy of a few ints to the host rather than a copy of every tensor.
/// </summary>
public sealed class NonFinite
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<int>, int, int> firstNonFinite;

    /// <summary>Loads the search kernel on <paramref name="device"/>.</summary>
    public NonFinite(ComputeDevice device)
    {
        this.device = device;
        firstNonFinite = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<int>, int, int>(FirstNonFiniteKernel);
    }

    /// <summary>
    /// first[slot] = min(first[slot], the least i below <paramref name="length"/> whose values[i] is NaN or infinite):
    /// with first[slot] set to int.MaxValue beforehand, it stays so when every value is finite.
    /// </summary>
    public void FirstNonFiniteIndex(ArrayView<float> values, int length, ArrayView<int> first, int slot)
    {
        Views.AtLeast(values, length); Views.HasSlot(first, slot);
        using var _ = device.Profile("first_non_finite", length, 4.0 * length);
        firstNonFinite(device.GridStride(length), values, first, slot, length);
    }

    [Kernel]
    static void FirstNonFiniteKernel(ArrayView<float> values, ArrayView<int> first, int slot, int length)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < length; i += step)
        {
            float value = values[i];
            if (XMath.IsNaN(value) || XMath.IsInfinity(value)) Atomic.Min(ref first[slot], i);
        }
    }
}

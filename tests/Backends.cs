using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>
/// The accelerators a suite runs on: the CPU accelerator always, CUDA and OpenCL when this machine has a
/// usable one. A fixture that takes an <see cref="AcceleratorKind"/> runs once per backend, in ILGPU's manner.
/// </summary>
public static class Backends
{
    public static IEnumerable<AcceleratorKind> Available() =>
        new[] { AcceleratorKind.Cpu }.Concat(
            GpuDevice.Survey()
                .Where(r => r.Kind is AcceleratorKind.Cuda or AcceleratorKind.OpenCL && r.RejectedBecause is null)
                .Select(r => r.Kind)
                .Distinct());
}

/// <summary>A fixture holding one device for all its tests.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Available))]
public abstract class DeviceFixture(AcceleratorKind kind)
{
    protected GpuDevice Device { get; private set; } = null!;

    [OneTimeSetUp]
    public void OpenDevice() => Device = GpuDevice.Create(kind);

    [OneTimeTearDown]
    public void CloseDevice() => Device.Dispose();
}

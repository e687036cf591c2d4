using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>
/// The accelerators a suite runs on: every kind that <see cref="ComputeDevice.Survey"/> finds usable on this
/// machine, the CPU accelerator always among them. A fixture that takes an <see cref="AcceleratorKind"/> runs once
/// per backend, in ILGPU's manner.
/// </summary>
public static class Backends
{
    public static IEnumerable<AcceleratorKind> Available() =>
        ComputeDevice.Survey().Where(r => r.Usable).Select(r => r.Kind).Distinct();
}

/// <summary>A fixture holding one device for all its tests.</summary>
[TestFixtureSource(typeof(Backends), nameof(Backends.Available))]
public abstract class DeviceFixture(AcceleratorKind kind)
{
    protected ComputeDevice Device { get; private set; } = null!;

    [OneTimeSetUp]
    public void OpenDevice() => Device = ComputeDevice.Create(kind);

    [OneTimeTearDown]
    public void CloseDevice() => Device.Dispose();

    readonly Dictionary<(Type, KernelVariant), object> opsByVariant = [];

    /// <summary>
    /// The fixture's one instance of an op class per variant, made on first use by <paramref name="create"/>; a
    /// variant this device cannot run skips the test.
    /// </summary>
    protected T ForVariant<T>(KernelVariant variant, Func<ComputeDevice, KernelVariant, T> create) where T : class
    {
        RequireVariant(variant);
        if (!opsByVariant.TryGetValue((typeof(T), variant), out var ops)) opsByVariant[(typeof(T), variant)] = ops = create(Device, variant);
        return (T)ops;
    }

    /// <summary>Skips a test of a variant this device cannot run: a CPU worker anywhere but the CPU accelerator.</summary>
    protected void RequireVariant(KernelVariant variant)
    {
        if (variant == KernelVariant.CpuWorker && !Device.IsCpu) Assert.Ignore("a CpuWorker runs only on the CPU accelerator");
    }
}

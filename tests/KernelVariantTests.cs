using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>The one rule by which every op with a CPU worker picks its implementation.</summary>
public sealed class KernelVariantTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    [Test]
    public void AutoIsTheCpuWorkerOnlyOnTheCpuAccelerator() =>
        Assert.That(Device.Resolve(KernelVariant.Auto), Is.EqualTo(Device.IsCpu ? KernelVariant.CpuWorker : KernelVariant.Portable));

    [Test]
    public void PortableIsKeptEverywhere() =>
        Assert.That(Device.Resolve(KernelVariant.Portable), Is.EqualTo(KernelVariant.Portable));

    [Test]
    public void ACpuWorkerIsRefusedOffTheCpuAccelerator()
    {
        if (Device.IsCpu)
            Assert.That(Device.Resolve(KernelVariant.CpuWorker), Is.EqualTo(KernelVariant.CpuWorker));
        else
            Assert.Throws<NotSupportedException>(() => Device.Resolve(KernelVariant.CpuWorker));
    }
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>
/// Which accelerators this machine offers. Where ILGPUGAN_REQUIRED_CHECKS names a backend (CI names opencl, for
/// PoCL; the GPU machine's script names cuda), a survey that finds it unusable fails, with the survey's reason,
/// instead of letting every fixture of that backend silently not run.
/// </summary>
public sealed class BackendTests
{
    [TestCase("cuda", AcceleratorKind.Cuda)]
    [TestCase("opencl", AcceleratorKind.OpenCL)]
    public void BackendIsUsable(string check, AcceleratorKind kind)
    {
        var reports = ComputeDevice.Survey().Where(r => r.Kind == kind).ToList();
        if (!reports.Any(r => r.Usable))
            RequiredChecks.Unavailable(check, string.Join("; ", reports.Select(r => $"{r.Name}: {r.RejectedBecause}")));
        Assert.That(Backends.Available(), Does.Contain(kind));
    }

    [Test]
    public void CpuAcceleratorIsAlwaysUsable() =>
        Assert.That(ComputeDevice.Survey().Single(r => r.Kind == AcceleratorKind.Cpu).Usable);

    /// <summary>A CUDA request on a machine without a CUDA device names why, rather than opening ILGPU's fallback CPU device.</summary>
    [Test]
    public void RequestedBackendThatIsMissingNamesWhy([Values(AcceleratorKind.Cuda, AcceleratorKind.OpenCL)] AcceleratorKind kind)
    {
        if (ComputeDevice.Survey().Any(r => r.Kind == kind && r.Usable)) Assert.Ignore($"this machine has a usable {kind} device");
        var error = Assert.Throws<DeviceUnavailableException>(() => ComputeDevice.Create(kind).Dispose())!;
        Assert.That(error.Message, Does.StartWith($"no usable {kind} accelerator ("));
    }

    /// <summary>Auto takes a GPU when there is one, and the CPU accelerator over an OpenCL CPU device such as PoCL.</summary>
    [Test]
    public void AutoPrefersGpusThenTheCpuAccelerator()
    {
        var usable = ComputeDevice.Survey().Where(r => r.Usable).ToList();
        var expected = usable.Any(r => r.Kind == AcceleratorKind.Cuda) ? AcceleratorKind.Cuda
            : usable.Any(r => r.Kind == AcceleratorKind.OpenCL && r.IsGpu) ? AcceleratorKind.OpenCL
            : AcceleratorKind.Cpu;
        using var device = ComputeDevice.Create();
        Assert.That(device.Kind, Is.EqualTo(expected));
    }
}

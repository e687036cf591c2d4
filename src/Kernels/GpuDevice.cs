using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace IlgpuGan.Kernels;

/// <summary>Which accelerator runs the kernels; Auto takes CUDA, then OpenCL, then the CPU.</summary>
public enum AcceleratorKind { Auto, Cuda, OpenCL, Cpu }

/// <summary>One accelerator found on this machine, usable or not, and why not.</summary>
public sealed record DeviceReport(AcceleratorKind Kind, string Name, long MemoryBytes, string? RejectedBecause);

/// <summary>
/// The accelerator every kernel runs on, with the launch shapes that suit it. Kernels are written as
/// grid-stride loops so one kernel serves both machines: a GPU gets many threads, the CPU accelerator one
/// fat thread per core (ILGPU runs one OS thread per GPU thread there, so fewer threads cost less).
/// </summary>
public sealed class GpuDevice : IDisposable
{
    /// <summary>Threads per group on a GPU for element-wise kernels.</summary>
    public const int GpuGroupSize = 256;

    public Context Context { get; }
    public Accelerator Accelerator { get; }
    public AcceleratorKind Kind { get; }
    public bool IsCpu => Kind == AcceleratorKind.Cpu;
    public string Name => Accelerator.Name;

    /// <summary>Null unless the device was created with profiling: then every launch is timed.</summary>
    public KernelProfiler? Profiler { get; }

    GpuDevice(Context context, Accelerator accelerator, AcceleratorKind kind, bool profiling)
    {
        Context = context;
        Accelerator = accelerator;
        Kind = kind;
        if (profiling) Profiler = new KernelProfiler(accelerator);
    }

    /// <summary>Opens the requested accelerator; throws <see cref="DeviceUnavailableException"/> naming why not.</summary>
    public static GpuDevice Create(AcceleratorKind kind = AcceleratorKind.Auto, bool profiling = false)
    {
        NativeLibraryFallback.Install();
        if (kind == AcceleratorKind.Auto)
        {
            foreach (var candidate in new[] { AcceleratorKind.Cuda, AcceleratorKind.OpenCL })
                if (Survey().Any(r => r.Kind == candidate && r.RejectedBecause is null))
                    return Create(candidate, profiling);
            return Create(AcceleratorKind.Cpu, profiling);
        }

        var context = Context.Create(builder =>
        {
            switch (kind)
            {
                case AcceleratorKind.Cpu: builder.CPU(CpuWorkerDevice()); break;
                case AcceleratorKind.Cuda: builder.Cuda(); break;
                case AcceleratorKind.OpenCL: builder.OpenCL(); break;
            }
            builder.Optimize(OptimizationLevel.O2).EnableAlgorithms();
            if (profiling) builder.Profiling();
        });
        var device = context.Devices.FirstOrDefault();
        if (device is null)
        {
            context.Dispose();
            var reasons = Survey().Where(r => r.Kind == kind).Select(r => $"{r.Name}: {r.RejectedBecause}").ToList();
            throw new DeviceUnavailableException(
                $"no usable {kind} accelerator" + (reasons.Count > 0 ? $" ({string.Join("; ", reasons)})" : ""));
        }
        return new GpuDevice(context, device.CreateAccelerator(context), kind, profiling);
    }

    /// <summary>
    /// ILGPU's default CPU device simulates a GPU with many OS threads and a barrier after every group: an
    /// empty launch costs ~220 µs there, against ~20 µs with one worker per core (measured on this project's
    /// 2-core machine). Our kernels loop over their work, so one worker per core is all they need.
    /// </summary>
    static CPUDevice CpuWorkerDevice() =>
        new(numThreadsPerWarp: 2, numWarpsPerMultiprocessor: 1, numMultiprocessors: Environment.ProcessorCount);

    /// <summary>Every accelerator this machine has, with the reason for any we cannot use.</summary>
    public static IReadOnlyList<DeviceReport> Survey()
    {
        NativeLibraryFallback.Install();
        var reports = new List<DeviceReport>();
        using (var context = Context.Create(b => b.Cuda().OpenCL(_ => true)))
        {
            foreach (var device in context.Devices)
            {
                if (device is CudaDevice)
                    reports.Add(new(AcceleratorKind.Cuda, device.Name, device.MemorySize, null));
                else if (device is CLDevice cl)
                    reports.Add(new(AcceleratorKind.OpenCL, $"{cl.Name} ({cl.PlatformName})", cl.MemorySize,
                        OpenClRejection(cl)));
            }
        }
        if (!reports.Any(r => r.Kind == AcceleratorKind.Cuda))
            reports.Add(new(AcceleratorKind.Cuda, "NVIDIA CUDA", 0,
                NativeLibrary.TryLoad("libcuda.so.1", out _) || NativeLibrary.TryLoad("nvcuda", out _)
                    ? "the CUDA driver loaded but reports no device"
                    : "no CUDA driver (libcuda.so.1 / nvcuda.dll not found)"));
        if (!reports.Any(r => r.Kind == AcceleratorKind.OpenCL))
            reports.Add(new(AcceleratorKind.OpenCL, "OpenCL", 0, "no OpenCL platform with a device found"));
        reports.Add(new(AcceleratorKind.Cpu, $"ILGPU CPU accelerator, {Environment.ProcessorCount} workers",
            GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, null));
        return reports;
    }

    /// <summary>ILGPU's OpenCL backend emits OpenCL C 2.0 with generic pointers; older devices cannot run it.</summary>
    static string? OpenClRejection(CLDevice device)
    {
        if (device.CVersion < ILGPU.Backends.OpenCL.CLCVersion.CL20)
            return $"OpenCL C {device.CVersion} is older than the 2.0 ILGPU needs";
        if (!device.Capabilities.GenericAddressSpace)
            return "no generic address space (ILGPU's OpenCL backend needs it)";
        return null;
    }

    /// <summary>
    /// A launch shape for a grid-stride loop over n items: one thread per core on the CPU accelerator, on a
    /// GPU enough groups to cover n (capped at a few waves so tiny tails are not a launch of their own).
    /// </summary>
    public KernelConfig GridStride(long n)
    {
        if (IsCpu) return new KernelConfig(Accelerator.NumMultiprocessors, 1);
        long maxGroups = (long)Accelerator.NumMultiprocessors * 8;
        long groups = Math.Clamp((n + GpuGroupSize - 1) / GpuGroupSize, 1, maxGroups);
        return new KernelConfig((int)groups, GpuGroupSize);
    }

    /// <summary>Marks one launch for the profiler; free when profiling is off.</summary>
    public KernelProfiler.Scope Profile(string kernel, double flops, double bytes) =>
        Profiler is null ? default : Profiler.Begin(kernel, flops, bytes);

    public void Synchronize() => Accelerator.Synchronize();

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}

/// <summary>Thrown when a requested accelerator cannot be opened; the message names why.</summary>
public sealed class DeviceUnavailableException(string message) : Exception(message);

/// <summary>
/// ILGPU asks the loader for the unversioned driver names (libcuda.so, libOpenCL.so), which only the
/// development packages install; driver-only machines ship libcuda.so.1 and libOpenCL.so.1. ILGPU.Algorithms'
/// cuBLAS binding asks for libcublas.so.10 to .12 by name, while CUDA 13 machines carry libcublas.so.13,
/// whose cublas*_v2 entry points are the same. When the loader has found nothing, try those files instead.
/// </summary>
public static class NativeLibraryFallback
{
    static readonly string[] CuBlasFiles = ["libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so.10", "libcublas.so"];

    static int installed;

    public static void Install()
    {
        if (Interlocked.Exchange(ref installed, 1) == 1) return;
        AssemblyLoadContext.Default.ResolvingUnmanagedDll += Resolve;
    }

    /// <summary>The files a library name falls back to, newest first; none for libraries we do not map.</summary>
    public static IReadOnlyList<string> FallbackFiles(string libraryName)
    {
        if (!OperatingSystem.IsLinux()) return [];
        var name = libraryName.ToLowerInvariant();
        if (name is "nvcuda" or "cuda" or "libcuda" or "libcuda.so") return ["libcuda.so.1"];
        if (name is "opencl" or "libopencl" or "libopencl.so") return ["libOpenCL.so.1"];
        if (name is "cublas" or "libcublas" || name.StartsWith("libcublas.so", StringComparison.Ordinal))
            return CuBlasFiles.Where(file => file != name).ToArray();
        return [];
    }

    static IntPtr Resolve(Assembly assembly, string libraryName)
    {
        foreach (var file in FallbackFiles(libraryName))
            if (NativeLibrary.TryLoad(file, out var handle))
                return handle;
        return IntPtr.Zero;
    }
}

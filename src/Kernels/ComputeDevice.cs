using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Loader;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Backends.OpenCL;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace IlgpuGan.Kernels;

/// <summary>Which accelerator runs the kernels; Auto takes a CUDA GPU, then an OpenCL GPU, then the CPU accelerator.</summary>
public enum AcceleratorKind
{
    /// <summary>A CUDA GPU, else an OpenCL GPU, else the CPU accelerator.</summary>
    Auto,
    /// <summary>An NVIDIA GPU through CUDA.</summary>
    Cuda,
    /// <summary>An OpenCL 2.0+ device with the generic address space.</summary>
    OpenCL,
    /// <summary>ILGPU's CPU accelerator, one worker per core.</summary>
    Cpu,
}

/// <summary>
/// One accelerator found on this machine, usable or not, and why not. IsGpu is false for the CPU accelerator and
/// for an OpenCL device that is a CPU (PoCL, say), which Auto ranks below our own CPU accelerator.
/// </summary>
public sealed record DeviceReport(AcceleratorKind Kind, string Name, long MemoryBytes, bool IsGpu, string? RejectedBecause)
{
    /// <summary>Whether our kernels can run on it: nothing rejected it.</summary>
    public bool Usable => RejectedBecause is null;
}

/// <summary>
/// The accelerator every kernel runs on, with the launch shapes that suit it. Kernels are written as
/// grid-stride loops so one kernel serves both machines: a GPU gets many threads, the CPU accelerator one
/// fat thread per core (ILGPU runs one OS thread per GPU thread there, so fewer threads cost less).
/// </summary>
public sealed class ComputeDevice : IDisposable
{
    /// <summary>Threads per group on a GPU for element-wise kernels.</summary>
    public const int GpuGroupSize = 256;

    /// <summary>The ILGPU context the accelerator belongs to.</summary>
    public Context Context { get; }
    /// <summary>The ILGPU accelerator: allocate buffers on it and pass their views to the kernel wrappers.</summary>
    public Accelerator Accelerator { get; }
    /// <summary>The kind of accelerator opened, Auto resolved.</summary>
    public AcceleratorKind Kind { get; }
    /// <summary>Whether this is ILGPU's CPU accelerator, the one that runs CpuWorker kernels.</summary>
    public bool IsCpu => Kind == AcceleratorKind.Cpu;
    /// <summary>The accelerator's name, as its driver reports it.</summary>
    public string Name => Accelerator.Name;

    /// <summary>Null unless the device was created with profiling: then every launch is timed.</summary>
    public KernelProfiler? Profiler { get; }

    /// <summary>Null unless a test records launches' arguments: see <see cref="LaunchRecorder"/>.</summary>
    internal LaunchRecorder? Recorder { get; set; }

    ComputeDevice(Context context, Accelerator accelerator, AcceleratorKind kind, bool profiling)
    {
        Context = context;
        Accelerator = accelerator;
        Kind = kind;
        if (profiling) Profiler = new KernelProfiler(accelerator);
    }

    /// <summary>
    /// Opens the requested accelerator; throws <see cref="DeviceUnavailableException"/> naming why not. Auto measured
    /// its ranking: on an OpenCL CPU device (PoCL 6.0) the seed's step took 761 ms against 22.6 ms on the CPU
    /// accelerator under the same load, so only an OpenCL GPU goes before the CPU accelerator.
    /// </summary>
    public static ComputeDevice Create(AcceleratorKind kind = AcceleratorKind.Auto, bool profiling = false)
    {
        NativeLibraryFallback.Install();
        if (kind == AcceleratorKind.Auto)
        {
            var usable = Survey().Where(r => r.Usable).ToList();
            kind = usable.Any(r => r.Kind == AcceleratorKind.Cuda) ? AcceleratorKind.Cuda
                : usable.Any(r => r.Kind == AcceleratorKind.OpenCL && r.IsGpu) ? AcceleratorKind.OpenCL
                : AcceleratorKind.Cpu;
        }

        var context = Context.Create(builder =>
        {
            switch (kind)
            {
                case AcceleratorKind.Cpu: builder.CPU(CpuWorkerDevice()); break;
                case AcceleratorKind.Cuda: builder.Cuda(); break;
                // ILGPU's own rule: an OpenCL 2.0+ device with the generic address space.
                case AcceleratorKind.OpenCL: builder.OpenCL(); break;
            }
            ConfigureCompiler(builder);
            if (profiling) builder.Profiling();
        });
        // A context built for CUDA or OpenCL lists ILGPU's CPU device too, even when it found no device of its own.
        Device? device = kind switch
        {
            AcceleratorKind.Cuda => context.Devices.OfType<CudaDevice>().FirstOrDefault(),
            AcceleratorKind.OpenCL => context.Devices.OfType<CLDevice>().OrderByDescending(IsGpuDevice).FirstOrDefault(),
            _ => context.Devices.OfType<CPUDevice>().FirstOrDefault(),
        };
        if (device is null)
        {
            context.Dispose();
            var reasons = Survey().Where(r => r.Kind == kind).Select(r => $"{r.Name}: {r.RejectedBecause}").ToList();
            throw new DeviceUnavailableException(
                $"no usable {kind} accelerator" + (reasons.Count > 0 ? $" ({string.Join("; ", reasons)})" : ""));
        }
        try
        {
            return new ComputeDevice(context, device.CreateAccelerator(context), kind, profiling);
        }
        catch (Exception e) when (device is CudaDevice cuda && e is CudaException or EntryPointNotFoundException)
        {
            context.Dispose();
            throw new DeviceUnavailableException(
                $"cannot create a CUDA context on {cuda.Name} (CUDA driver {cuda.DriverVersion}): {FailingContextCall(cuda, e)}");
        }
    }

    /// <summary>
    /// The driver call that failed in ILGPU 1.5.3's CudaAccelerator constructor, whose exception names only the
    /// error: its calls replayed in its order. CUDA 13 deprecates two of them (cuCtxCreate_v2,
    /// cuCtxGetSharedMemConfig), so a new driver may refuse one; a missing entry point names itself.
    /// </summary>
    static string FailingContextCall(CudaDevice device, Exception failure)
    {
        if (failure is EntryPointNotFoundException) return failure.Message;
        var api = CudaAPI.CurrentAPI;
        var created = api.CreateContext(out var handle, CudaAcceleratorFlags.ScheduleAuto, device.DeviceId);
        if (created != CudaError.CUDA_SUCCESS) return $"cuCtxCreate_v2 returned {created}";
        try
        {
            (string Name, Func<CudaError> Call)[] calls =
            [
                ("cuCtxSetCurrent", () => api.SetCurrentContext(handle)),
                ("cuCtxGetSharedMemConfig", () => api.GetSharedMemoryConfig(out _)),
                ("cuCtxGetCacheConfig", () => api.GetCacheConfig(out _)),
            ];
            foreach (var (name, call) in calls)
                if (call() is var error && error != CudaError.CUDA_SUCCESS) return $"{name} returned {error}";
            return $"{failure.Message} (its driver calls succeed when replayed)";
        }
        catch (EntryPointNotFoundException missing)
        {
            return missing.Message;
        }
        finally
        {
            api.DestroyContext(handle);
        }
    }

    /// <summary>How ILGPU compiles our kernels on every accelerator; the offline PTX check builds its context with it too.</summary>
    public static Context.Builder ConfigureCompiler(Context.Builder builder) =>
        builder.Optimize(OptimizationLevel.O2).EnableAlgorithms();

    static bool IsGpuDevice(CLDevice device) =>
        (device.DeviceType & (CLDeviceType.CL_DEVICE_TYPE_GPU | CLDeviceType.CL_DEVICE_TYPE_ACCELERATOR)) != 0;

    /// <summary>
    /// ILGPU's default CPU device simulates a GPU with many OS threads and a barrier after every group: an
    /// empty launch costs ~220 µs there (measured on this project's 2-core machine). Our kernels loop over their
    /// work, so one worker per core is all they need: one multiprocessor whose one group is a warp of a thread per
    /// core. ILGPU's warps have at least 2 threads, so a multiprocessor per core woke twice as many threads, half
    /// of them idle, at every launch: an empty launch took 73.5 µs that way and 57.6 µs this way (medians of 20
    /// interleaved rounds of 1,000 launches, 2-core AMD EPYC, 2026-12-01).
    /// </summary>
    static CPUDevice CpuWorkerDevice() =>
        new(numThreadsPerWarp: Math.Max(2, Environment.ProcessorCount), numWarpsPerMultiprocessor: 1, numMultiprocessors: 1);

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
                    reports.Add(new(AcceleratorKind.Cuda, device.Name, device.MemorySize, true, null));
                else if (device is CLDevice cl)
                    reports.Add(new(AcceleratorKind.OpenCL, $"{cl.Name} ({cl.PlatformName}, OpenCL {cl.DeviceVersion})",
                        cl.MemorySize, IsGpuDevice(cl), OpenClRejection(cl)));
            }
        }
        if (!reports.Any(r => r.Kind == AcceleratorKind.Cuda))
            reports.Add(new(AcceleratorKind.Cuda, "NVIDIA CUDA", 0, true,
                NativeLibrary.TryLoad("libcuda.so.1", out _) || NativeLibrary.TryLoad("nvcuda", out _)
                    ? "the CUDA driver loaded but reports no device"
                    : "no CUDA driver (libcuda.so.1 / nvcuda.dll not found)"));
        if (!reports.Any(r => r.Kind == AcceleratorKind.OpenCL))
            reports.Add(new(AcceleratorKind.OpenCL, "OpenCL", 0, true, "no OpenCL platform with a device found"));
        reports.Add(new(AcceleratorKind.Cpu, $"ILGPU CPU accelerator, {Environment.ProcessorCount} workers",
            GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, false, null));
        return reports.OrderBy(r => r.Kind).ToList();
    }

    /// <summary>
    /// ILGPU's own rule (CLContextExtensions.OpenCL at v1.5.3): the device's OpenCL version must be 2.0 or later,
    /// which sets the -cl-std it compiles with, and it must have the generic address space. The OpenCL C version
    /// is not the test: OpenCL 3.0 devices report 1.2 there even when they have the generic address space.
    /// </summary>
    static string? OpenClRejection(CLDevice device)
    {
        if (device.CLStdVersion < CLBackend.MinimumVersion)
            return $"an OpenCL {device.DeviceVersion} device; ILGPU needs OpenCL 2.0 or later";
        if (!device.Capabilities.GenericAddressSpace)
            return "no generic address space, which ILGPU's OpenCL backend needs";
        return null;
    }

    /// <summary>
    /// The one rule for an op that has both a portable kernel and a CPU worker: Auto is the worker on the CPU
    /// accelerator and the portable kernel elsewhere. A worker reads host memory through pointers, so asking a
    /// GPU for one is refused rather than quietly replaced.
    /// </summary>
    public KernelVariant Resolve(KernelVariant requested) => requested switch
    {
        KernelVariant.Auto => IsCpu ? KernelVariant.CpuWorker : KernelVariant.Portable,
        KernelVariant.CpuWorker when !IsCpu => throw new NotSupportedException(
            $"a CpuWorker kernel reads host memory through pointers and runs only on the CPU accelerator, not on {Kind} ({Name})"),
        _ => requested,
    };

    /// <summary>The launch of a CpuWorker kernel: one worker per core, each taking its own contiguous slice.</summary>
    public KernelConfig CpuWorkers => new(1, CpuWorkerCount);

    /// <summary>How many workers a <see cref="CpuWorkers"/> launch runs: the CPU accelerator's one group.</summary>
    public int CpuWorkerCount => Accelerator.MaxNumThreadsPerGroup;

    /// <summary>
    /// A launch shape for a loop over n items: on the CPU accelerator <see cref="CpuWorkers"/>, which serves its
    /// portable grid-stride kernels and its CpuWorker kernels alike; on a GPU enough groups to cover n (capped at a few waves so tiny tails are not a launch of their own).
    /// </summary>
    public KernelConfig GridStride(long n)
    {
        if (IsCpu) return CpuWorkers;
        long maxGroups = (long)Accelerator.NumMultiprocessors * 8;
        long groups = Math.Clamp((n + GpuGroupSize - 1) / GpuGroupSize, 1, maxGroups);
        return new KernelConfig((int)groups, GpuGroupSize);
    }

    /// <summary>Marks one launch for the profiler; free when profiling is off.</summary>
    public KernelProfiler.Scope Profile(string kernel, double flops, double bytes) =>
        Profiler is null ? default : Profiler.Begin(kernel, flops, bytes);

    /// <summary>Waits until every launch so far has finished.</summary>
    public void Synchronize() => Accelerator.Synchronize();

    /// <summary>Releases the accelerator and its context.</summary>
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
internal static class NativeLibraryFallback
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

using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime.Cuda;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>
/// The CUDA path proven with no GPU: every portable kernel is compiled to PTX by ILGPU's own backend, as
/// LoadStreamKernel would on a CUDA accelerator, and assembled by NVIDIA's ptxas in whole-program mode, so an
/// unresolved external function (a .NET runtime call ILGPU does not map) fails here rather than on a user's GPU.
/// ptxas comes from tools/ci/ptxas.sh (CUDA 11.8: PTX ISA 7.8), from ILGPUGAN_PTXAS, or from PATH. The same PTX is
/// also read for approximate instructions, which needs no ptxas and runs everywhere.
/// </summary>
[NonParallelizable]
public sealed class PtxAssemblyTests
{
    static readonly CudaArchitecture[] Architectures = [CudaArchitecture.SM_70, CudaArchitecture.SM_80, CudaArchitecture.SM_90];

    public static IEnumerable<TestCaseData> PortableKernels() =>
        from kernel in KernelInventory.Marked
        where KernelInventory.Variant(kernel) == KernelVariant.Portable
        from architecture in Architectures
        select new TestCaseData(kernel, architecture).SetArgDisplayNames(KernelInventory.Name(kernel), GpuName(architecture));

    public static IEnumerable<TestCaseData> CpuWorkerKernels() =>
        from kernel in KernelInventory.Marked
        where KernelInventory.Variant(kernel) == KernelVariant.CpuWorker
        select new TestCaseData(kernel).SetArgDisplayNames(KernelInventory.Name(kernel));

    Context context = null!;

    [OneTimeSetUp]
    public void CreateContext() => context = Context.Create(builder => ComputeDevice.ConfigureCompiler(builder));

    [OneTimeTearDown]
    public void DisposeContext() => context.Dispose();

    [TestCaseSource(nameof(PortableKernels))]
    public void AssemblesWithPtxas(MethodInfo kernel, CudaArchitecture architecture)
    {
        var (exitCode, errors) = Assemble(CompileToPtx(context, kernel, architecture), architecture);
        Assert.That(exitCode, Is.Zero, $"ptxas rejected {KernelInventory.Name(kernel)} for {GpuName(architecture)}:\n{errors}");
    }

    /// <summary>
    /// PTX's approximate instructions that a kernel may contain, each chosen on purpose; any other (tanh.approx,
    /// which ILGPU makes of MathF.Tanh with a relative error of about 2⁻¹¹; rsqrt, rcp, sqrt or div approximations)
    /// fails. ex2 and lg2 are ILGPU's only lowering of MathF.Exp and MathF.Log (x·log₂e, then ex2.approx; lg2.approx,
    /// then ·ln 2), with relative errors near 2⁻²², which the kernel tests' 1e-6 admit.
    /// </summary>
    static readonly string[] ApproximationsAnywhere = ["ex2.approx.f32", "lg2.approx.f32"];

    /// <summary>
    /// sin.approx and cos.approx (absolute error about 2⁻²¹ on [−π, π]) only where that error cannot reach the
    /// training mathematics' tolerances: Box–Muller's angle 2πu of the noise, and the latent walk's slerp weights.
    /// </summary>
    static readonly Dictionary<string, string[]> ApproximationsByKernel = new()
    {
        ["DeviceRandom.GaussianKernel"] = ["sin.approx.f32", "cos.approx.f32"],
        ["StepInputs.PortableKernel"] = ["sin.approx.f32", "cos.approx.f32"],
        ["Interpolation.SlerpLoopKernel"] = ["sin.approx.f32"],
    };

    static readonly Regex ApproximateInstruction = new(@"\b[a-z][a-z0-9]*(?:\.[a-z0-9]+)*\.(?:approx|full)(?:\.[a-z0-9]+)*\b");

    [TestCaseSource(nameof(PortableKernels))]
    public void UsesOnlyChosenApproximations(MethodInfo kernel, CudaArchitecture architecture)
    {
        var name = KernelInventory.Name(kernel);
        Assert.That(UnchosenApproximations(name, CompileToPtx(context, kernel, architecture)), Is.Empty,
            $"{name}'s PTX for {GpuName(architecture)} has approximate instructions not chosen for it");
    }

    /// <summary>The check can fail: MathF.Tanh, the kernels' tanh until it was written from exp, is refused.</summary>
    [Test]
    public void RejectsTanhApprox()
    {
        var kernel = typeof(PtxAssemblyTests).GetMethod(nameof(MathTanhKernel), BindingFlags.NonPublic | BindingFlags.Static)!;
        Assert.That(UnchosenApproximations("Activations.TanhForwardKernel", CompileToPtx(context, kernel, CudaArchitecture.SM_80)),
            Is.EqualTo(new[] { "tanh.approx.f32" }));
    }

    static string[] UnchosenApproximations(string kernelName, string ptx)
    {
        var chosen = ApproximationsAnywhere.Concat(ApproximationsByKernel.GetValueOrDefault(kernelName, [])).ToHashSet();
        return ApproximateInstruction.Matches(ptx).Select(match => match.Value).Where(op => !chosen.Contains(op)).Distinct().ToArray();
    }

    static void MathTanhKernel(ArrayView<float> values) => values[Grid.GlobalIndex.X] = MathF.Tanh(values[Grid.GlobalIndex.X]);

    /// <summary>CPU workers call [External] .NET methods that no GPU has: they are kept off the GPU by design.</summary>
    [TestCaseSource(nameof(CpuWorkerKernels))]
    public void CpuWorkerKernelsAreNotForGpus(MethodInfo kernel) =>
        Assert.Ignore($"{KernelInventory.Name(kernel)} runs an [External] worker that only the CPU accelerator executes");

    /// <summary>The check can fail: the call that broke our GEMM on every GPU (issue 9) is refused by ptxas.</summary>
    [Test]
    public void RejectsAKernelThatCallsARuntimeInternal()
    {
        var kernel = typeof(PtxAssemblyTests).GetMethod(nameof(FusedMultiplyAddKernel), BindingFlags.NonPublic | BindingFlags.Static)!;
        var (exitCode, errors) = Assemble(CompileToPtx(context, kernel, CudaArchitecture.SM_80), CudaArchitecture.SM_80);
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(errors, Does.Contain("FusedMultiplyAdd"));
    }

    /// <summary>The list this check compiles comes from the code: every kernel the assembly loads carries [Kernel], and every [Kernel] is loaded.</summary>
    [Test]
    public void EveryLoadedKernelIsMarkedAndEveryMarkedKernelIsLoaded()
    {
        var loaded = KernelInventory.Loaded();
        Assert.That(loaded, Is.Not.Empty);
        Assert.That(loaded.Select(KernelInventory.Name), Is.EquivalentTo(KernelInventory.Marked.Select(KernelInventory.Name)));
    }

    static void FusedMultiplyAddKernel(ArrayView<float> values) =>
        values[Grid.GlobalIndex.X] = MathF.FusedMultiplyAdd(values[0], values[1], values[2]);

    /// <summary>The PTX a CUDA accelerator of <paramref name="architecture"/> would load for <paramref name="kernel"/>.</summary>
    internal static string CompileToPtx(Context context, MethodInfo kernel, CudaArchitecture architecture)
    {
        using var backend = new PTXBackend(context, new CudaCapabilityContext(architecture), architecture,
            CudaInstructionSet.ISA_78, null);
        var compiled = backend.Compile(EntryPointDescription.FromExplicitlyGroupedKernel(kernel), KernelSpecialization.Empty);
        return ((PTXCompiledKernel)compiled).PTXAssembly;
    }

    static (int ExitCode, string Errors) Assemble(string ptx, CudaArchitecture architecture)
    {
        var ptxas = FindPtxas();
        var file = Path.Combine(Path.GetTempPath(), $"ilgpugan-{Guid.NewGuid():N}.ptx");
        File.WriteAllText(file, ptx);
        try
        {
            // No -c: whole-program mode, where an unresolved extern function is an error, not a relocation.
            return RunTool(ptxas, ["--gpu-name", GpuName(architecture), "-o", "/dev/null", file]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>Runs one of NVIDIA's tools to its end: its exit code, and its error output then its standard output.</summary>
    /// <param name="searchPath">A folder put first on the tool's PATH (cuobjdump runs nvdisasm from there).</param>
    internal static (int ExitCode, string Output) RunTool(string tool, IEnumerable<string> arguments, string? searchPath = null)
    {
        var start = new ProcessStartInfo(tool, arguments) { RedirectStandardError = true, RedirectStandardOutput = true };
        if (searchPath is not null)
            start.Environment["PATH"] = searchPath + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH");
        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, errors.Result + output);
    }

    internal static string GpuName(CudaArchitecture architecture) => $"sm_{architecture.Major}{architecture.Minor}";

    internal static string FindPtxas()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("ILGPUGAN_PTXAS") is { Length: > 0 } configured) candidates.Add(configured);
        var cache = Environment.GetEnvironmentVariable("ILGPUGAN_CACHE") ??
                    Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") ??
                                 Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "ilgpugan");
        candidates.Add(Path.Combine(cache, "ptxas-11.8", "usr", "bin", "ptxas"));
        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Where(folder => folder.Length > 0).Select(folder => Path.Combine(folder, "ptxas")));
        var found = candidates.FirstOrDefault(File.Exists);
        if (found is null)
            RequiredChecks.Unavailable("ptxas", "no ptxas (run tools/ci/ptxas.sh, or set ILGPUGAN_PTXAS)");
        return found!;
    }
}

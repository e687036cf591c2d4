using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU.Runtime.Cuda;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>
/// The machine code an H100 would run for each portable GEMM kernel, read with no GPU: ILGPU's PTX for sm_90,
/// assembled by NVIDIA's ptxas 11.8 and disassembled by cuobjdump -sass from the same package (tools/ci/ptxas.sh puts
/// cuobjdump and the nvdisasm it runs beside ptxas). A GEMM's work is its fused multiply-adds; where they are a small share of the
/// instructions, the SM issues address arithmetic, loads and loop control instead, whatever the launch.
/// </summary>
[NonParallelizable]
public sealed class SassTests
{
    /// <summary>
    /// A 4×4 register tile over a 32-deep k slice is 512 FFMA against 64 wide shared loads, its staging and its
    /// epilogue; 40% leaves room for the epilogue and bounds checks while failing any kernel whose k loop is not
    /// unrolled (measured: 3% with the slice's 32 steps as a loop, as in the 16-deep kernel before).
    /// </summary>
    const double MinimumFfmaShare = 0.40;

    static readonly CudaArchitecture Hopper = CudaArchitecture.SM_90;

    public static IEnumerable<TestCaseData> GemmKernels() =>
        from kernel in KernelInventory.Marked
        where kernel.DeclaringType == typeof(Gemm) && KernelInventory.Variant(kernel) == KernelVariant.Portable
        select new TestCaseData(kernel).SetArgDisplayNames(KernelInventory.Name(kernel));

    Context context = null!;

    [OneTimeSetUp]
    public void CreateContext() => context = Context.Create(builder => ComputeDevice.ConfigureCompiler(builder));

    [OneTimeTearDown]
    public void DisposeContext() => context.Dispose();

    [TestCaseSource(nameof(GemmKernels))]
    public void GemmKernelIsMostlyFusedMultiplyAdds(MethodInfo kernel)
    {
        var code = Disassemble(kernel);
        double share = (double)code.Count("FFMA") / code.Instructions.Count;
        TestContext.Out.WriteLine($"{KernelInventory.Name(kernel)} on {PtxAssemblyTests.GpuName(Hopper)}: " +
                                  $"{code.Instructions.Count} SASS instructions, {code.Count("FFMA")} FFMA ({share:P1}), " +
                                  $"{code.Count("LDS")} LDS, {code.Count("LDG")} LDG, {code.Count("BAR")} BAR");
        TestContext.Out.WriteLine(code.Resources);
        Assert.That(share, Is.AtLeast(MinimumFfmaShare), $"{KernelInventory.Name(kernel)}: FFMA share of its SASS");
    }

    /// <summary>The check runs on something: the GEMM's portable kernels are found by their [Kernel] mark.</summary>
    [Test]
    public void FindsThePortableGemmKernels() => Assert.That(GemmKernels(), Is.Not.Empty);

    /// <summary>The counting can fail: four independent multiply-adds are four FFMA among a few dozen instructions.</summary>
    [Test]
    public void CountsTheFusedMultiplyAddsOfAKnownKernel()
    {
        var code = Disassemble(typeof(SassTests).GetMethod(nameof(FourMultiplyAddsKernel), BindingFlags.NonPublic | BindingFlags.Static)!);
        Assert.That(code.Count("FFMA"), Is.EqualTo(4));
        Assert.That(code.Instructions.Count, Is.InRange(8, 100));
    }

    static void FourMultiplyAddsKernel(ArrayView<float> values)
    {
        int i = Grid.GlobalIndex.X;
        float x = values[i];
        values[i] = x * values[1] + values[2];
        values[i + 1] = x * values[3] + values[4];
        values[i + 2] = x * values[5] + values[6];
        values[i + 3] = x * values[7] + values[8];
    }

    /// <summary>
    /// One kernel's SASS: the opcode of every instruction (predicate and modifiers dropped) and ptxas's -v lines
    /// (registers, shared memory, spills).
    /// </summary>
    sealed record Sass(IReadOnlyList<string> Instructions, string Resources)
    {
        public int Count(string opcode) => Instructions.Count(op => op == opcode);
    }

    /// <summary>An instruction line of cuobjdump -sass: "/*0a30*/  @!P0 FFMA R4, R5, R6, R4 ;".</summary>
    static readonly Regex Instruction = new(@"^\s*/\*[0-9a-f]{4,}\*/\s+(?:@!?U?P[T0-9]+\s+)?(?<op>[A-Z][A-Z0-9_]*)", RegexOptions.Compiled);

    Sass Disassemble(MethodInfo kernel)
    {
        var ptxas = PtxAssemblyTests.FindPtxas();
        var tools = Path.GetDirectoryName(ptxas)!;
        var cuobjdump = Path.Combine(tools, "cuobjdump");
        if (!File.Exists(cuobjdump) || !File.Exists(Path.Combine(tools, "nvdisasm")))
            RequiredChecks.Unavailable("ptxas", $"no cuobjdump and nvdisasm beside {ptxas} (run tools/ci/ptxas.sh)");
        var folder = Directory.CreateTempSubdirectory("ilgpugan-sass-");
        try
        {
            var ptx = Path.Combine(folder.FullName, "kernel.ptx");
            var cubin = Path.Combine(folder.FullName, "kernel.cubin");
            File.WriteAllText(ptx, PtxAssemblyTests.CompileToPtx(context, kernel, Hopper));
            var assembled = PtxAssemblyTests.RunTool(ptxas, ["-v", "--gpu-name", PtxAssemblyTests.GpuName(Hopper), "-o", cubin, ptx]);
            Assert.That(assembled.ExitCode, Is.Zero, $"ptxas rejected {KernelInventory.Name(kernel)}:\n{assembled.Output}");
            var disassembled = PtxAssemblyTests.RunTool(cuobjdump, ["-sass", cubin], searchPath: tools);
            Assert.That(disassembled.ExitCode, Is.Zero, $"cuobjdump failed on {KernelInventory.Name(kernel)}:\n{disassembled.Output}");
            var opcodes = disassembled.Output.Split('\n').Select(line => Instruction.Match(line))
                .Where(match => match.Success).Select(match => match.Groups["op"].Value).ToList();
            Assert.That(opcodes, Is.Not.Empty, $"no instructions in cuobjdump's listing:\n{disassembled.Output}");
            var resources = string.Join("\n", assembled.Output.Split('\n').Where(line => line.Contains("Used") || line.Contains("spill")).Select(line => line.Trim()));
            return new Sass(opcodes, resources);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }
}

using System.Diagnostics;
using System.Runtime.InteropServices;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Trainer;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

using static IlgpuGan.Tests.ProgramTests;

namespace IlgpuGan.Tests;

/// <summary>
/// `export` and `import` against their real consumers: Debian's PyTorch loads our safetensors into the seed's G
/// (tools/pytorch/seed_gan.py) and ONNX Runtime runs our ONNX file, each reproducing our `sample --bn eval` output
/// for the same z; Debian's onnx checker accepts the file; a PyTorch G imported samples as in PyTorch. The runs are
/// a few `train` steps on <see cref="TrainerEndToEndTests"/>' tiny data set. PyTorch and onnx are the required checks
/// "pytorch" and "onnx" (<see cref="RequiredChecks"/>).
/// </summary>
public sealed class InteropTests
{
    const int Rows = 5, ZDim = 100, Pixels = 784;
    const ulong SampleSeed = 1;
    const double Tolerance = 1e-5;

    string folder = null!;
    ComputeDevice device = null!;
    KernelSet kernels = null!;

    [OneTimeSetUp]
    public void TrainRuns()
    {
        folder = Directory.CreateTempSubdirectory("ilgpugan-interop-").FullName;
        // A low decay moves the average away from G's initial weights within the few steps.
        TrainTinyRun(folder, "seed", "--recipe", "seed", "--max-steps", "4", "--seed", "3");
        TrainTinyRun(folder, "stable", "--recipe", "stable", "--max-steps", "4", "--seed", "3", "--g-average", "0.5");
        device = ComputeDevice.Create(AcceleratorKind.Cpu);
        kernels = new KernelSet(device);
    }

    [OneTimeTearDown]
    public void RemoveRuns()
    {
        device.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    string Checkpoint(string run) => Path.Combine(folder, run, RunFolder.CheckpointFile);

    /// <summary>The z `sample --bn eval --seed 1` decodes for its first Rows samples: stream 1 of the fixed-sample streams.</summary>
    float[] SampleNoise()
    {
        using var noise = device.Accelerator.Allocate1D<float>(Rows * ZDim);
        kernels.Random.Gaussian(noise.View, Rows * ZDim, SampleSeed, RandomStreams.FixedSampleStream(1));
        return noise.GetAsArray1D();
    }

    /// <summary>What `sample --bn eval` computes from a checkpoint, and, with <paramref name="raw"/>, G itself's output for the same z.</summary>
    float[] OurSamples(string checkpointPath, bool raw = false)
    {
        using var gan = Sampling.Restore(kernels, IlgpuGan.Model.IO.Checkpoint.Read(checkpointPath), checkpointPath);
        var samples = Sampling.Draw(kernels, gan, Rows, SampleMode.Eval, SampleSeed);
        if (!raw) return samples;
        using var z = device.Accelerator.Allocate1D(SampleNoise());
        var images = new float[Rows * Pixels];
        gan.Generator.Forward(z.View, Rows, ForwardMode.Eval).CopyToCPU(images);
        return images;
    }

    static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double worst = Enumerable.Range(0, expected.Length).Max(i => Math.Abs(actual[i] - expected[i]));
        TestContext.Out.WriteLine($"{what}: largest difference {worst:E2} over values up to {expected.Max(Math.Abs):F2}");
        Assert.That(worst, Is.LessThanOrEqualTo(Tolerance), $"{what}: largest difference {worst:E2}");
    }

    static float[] ReadFloats(string path) => MemoryMarshal.Cast<byte, float>(File.ReadAllBytes(path)).ToArray();

    static void WriteFloats(string path, float[] values) => File.WriteAllBytes(path, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    /// <summary>PyTorch's G.eval()(z) of a safetensors file, z being `sample`'s.</summary>
    float[] PyTorchSamples(string safetensors)
    {
        var python = PythonInterpreter.With("torch", "pytorch", "python3-torch");
        var z = Path.Combine(folder, "z.f32");
        var images = Path.Combine(folder, "torch-images.f32");
        WriteFloats(z, SampleNoise());
        Python(python, Script(), "sample", safetensors, "--z", z, "--out", images);
        return ReadFloats(images);
    }

    [TestCase("seed", false, TestName = "PyTorchReproducesTheSeedRecipe")]
    [TestCase("stable", false, TestName = "PyTorchReproducesTheStableRecipesAverage")]
    [TestCase("stable", true, TestName = "PyTorchReproducesTheStableRecipesRawG")]
    public void PyTorchLoadsTheExportAndReproducesSample(string run, bool raw)
    {
        var file = Path.Combine(folder, $"{run}{(raw ? "-raw" : "")}.safetensors");
        var (code, output, error) = Ilgpugan(["export", "--checkpoint", Path.Combine(folder, run), "--safetensors", file, .. raw ? new[] { "--raw" } : []]);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain(run == "stable" && !raw ? "its exponential average" : "itself"));

        var ours = OurSamples(Checkpoint(run), raw);
        if (raw) Assert.That(ours, Is.Not.EqualTo(OurSamples(Checkpoint(run))), "G and its average differ, so the test tells them apart");
        AssertClose(PyTorchSamples(file), ours, $"PyTorch's G on {run}{(raw ? " (raw)" : "")}");
    }

    /// <summary>D's export in the seed's PyTorch Discriminator scores our samples as our D does (the stable recipe's dropout off, as in eval).</summary>
    [TestCase("seed")]
    [TestCase("stable")]
    public void PyTorchLoadsTheDiscriminatorExport(string run)
    {
        var file = Path.Combine(folder, $"{run}-d.safetensors");
        Assert.That(Ilgpugan("export", "--checkpoint", Checkpoint(run), "--d-safetensors", file).Code, Is.EqualTo(0));
        var images = OurSamples(Checkpoint(run));
        float[] ours = new float[Rows];
        using (var gan = Sampling.Restore(kernels, IlgpuGan.Model.IO.Checkpoint.Read(Checkpoint(run)), Checkpoint(run)))
        using (var x = device.Accelerator.Allocate1D(images))
            gan.Discriminator.Forward(x.View, Rows, ForwardMode.Eval).CopyToCPU(ours);

        var python = PythonInterpreter.With("torch", "pytorch", "python3-torch");
        string xFile = Path.Combine(folder, "x.f32"), scores = Path.Combine(folder, "torch-scores.f32");
        WriteFloats(xFile, images);
        Python(python, Script(), "score", file, "--x", xFile, "--out", scores);
        AssertClose(ReadFloats(scores), ours, $"PyTorch's D on {run}");
    }

    [TestCase("seed")]
    [TestCase("stable")]
    public void OnnxRuntimeReproducesSample(string run)
    {
        var file = Path.Combine(folder, $"{run}.onnx");
        var (code, _, error) = Ilgpugan("export", "--checkpoint", Checkpoint(run), "--onnx", file);
        Assert.That(code, Is.EqualTo(0), error);

        using var session = new InferenceSession(file);
        var z = NamedOnnxValue.CreateFromTensor(OnnxGenerator.Input, new DenseTensor<float>(SampleNoise(), [Rows, ZDim]));
        using var results = session.Run([z]);
        var images = results.Single(r => r.Name == OnnxGenerator.Output).AsEnumerable<float>().ToArray();
        AssertClose(images, OurSamples(Checkpoint(run)), $"ONNX Runtime on {run}");
    }

    [TestCase("seed")]
    [TestCase("stable")]
    public void OnnxCheckerAcceptsTheFile(string run)
    {
        var file = Path.Combine(folder, $"{run}-checked.onnx");
        Assert.That(Ilgpugan("export", "--checkpoint", Checkpoint(run), "--onnx", file).Code, Is.EqualTo(0));
        var python = PythonInterpreter.With("onnx", "onnx", "python3-onnx");
        var output = Python(python, "-c",
            "import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); " +
            "print('checked', m.ir_version, m.opset_import[0].version)", file);
        Assert.That(output, Does.Contain($"checked {OnnxGenerator.IrVersion} {OnnxGenerator.Opset}"));
    }

    /// <summary>A G made in PyTorch (seed_gan.py demo: random weights, BatchNorm statistics moved by train-mode batches) → import → sample.</summary>
    [TestCase(false, TestName = "PyTorchGeneratorRoundTripsWithTheSeedsLayers")]
    [TestCase(true, TestName = "PyTorchGeneratorRoundTripsWithTanhAndBatchNormBefore")]
    public void PyTorchGeneratorImportsAndSamplesAsInPyTorch(bool stableLayers)
    {
        var python = PythonInterpreter.With("torch", "pytorch", "python3-torch");
        var file = Path.Combine(folder, $"torch-{stableLayers}.safetensors");
        Python(python, [Script(), "demo", file, "--seed", "4", .. stableLayers ? new[] { "--tanh", "--bn-before" } : []]);
        var run = Path.Combine(folder, $"imported-{stableLayers}");
        var (code, output, error) = Ilgpugan("import", "--safetensors", file, "--out", run);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain(stableLayers ? "BatchNorm before LeakyReLU, tanh" : "BatchNorm after LeakyReLU, no tanh"));

        var imported = Path.Combine(run, RunFolder.CheckpointFile);
        AssertClose(OurSamples(imported), PyTorchSamples(file), "the imported G");
        var png = Path.Combine(folder, "imported.png");
        (code, _, error) = Ilgpugan("sample", "--checkpoint", imported, "--count", "4", "--bn", "eval", "--accelerator", "cpu",
            "--png", png, "--idx", Path.Combine(folder, "imported-idx3-ubyte"));
        Assert.That(code, Is.EqualTo(0), error);
    }

    [Test]
    public void ImportOfAnExportKeepsBothNetworksAndTheRecipe()
    {
        string g = Path.Combine(folder, "keep-g.safetensors"), d = Path.Combine(folder, "keep-d.safetensors");
        Assert.That(Ilgpugan("export", "--checkpoint", Checkpoint("stable"), "--raw", "--safetensors", g, "--d-safetensors", d).Code, Is.EqualTo(0));
        var run = Path.Combine(folder, "reimported");
        var (code, _, error) = Ilgpugan("import", "--safetensors", g, "--d-safetensors", d, "--out", run);
        Assert.That(code, Is.EqualTo(0), error);

        var original = IlgpuGan.Model.IO.Checkpoint.Read(Checkpoint("stable"));
        var imported = IlgpuGan.Model.IO.Checkpoint.Read(Path.Combine(run, RunFolder.CheckpointFile));
        Assert.That(imported.Header.Config with { GeneratorWidths = [], DiscriminatorWidths = [] },
            Is.EqualTo(original.Header.Config with { GeneratorWidths = [], DiscriminatorWidths = [] }), "the config the export carries");
        foreach (var name in new[] { "G.parameters", "G.state", "D.parameters" })
            Assert.That(imported.Tensors[name], Is.EqualTo(original.Tensors[name]), name);
        Assert.That(imported.Tensors["G_average.parameters"], Is.EqualTo(original.Tensors["G.parameters"]), "the average starts at the imported G");

        (code, _, error) = Ilgpugan("train", "--data", Path.Combine(folder, "data"), "--out", run, "--accelerator", "cpu",
            "--max-steps", "2", "--resume", Path.Combine(run, RunFolder.CheckpointFile));
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(Ilgpugan("import", "--safetensors", g, "--out", run).Error, Does.Contain("exists already"));
    }

    /// <summary>A named recipe gives the training settings; the file's metadata still gives the architecture it was trained with.</summary>
    [Test]
    public void ImportWithARecipeKeepsTheFilesArchitecture()
    {
        var file = Path.Combine(folder, "recipe.safetensors");
        Assert.That(Ilgpugan("export", "--checkpoint", Checkpoint("seed"), "--safetensors", file).Code, Is.EqualTo(0));
        var run = Path.Combine(folder, "recipe-run");
        var (code, _, error) = Ilgpugan("import", "--safetensors", file, "--out", run, "--recipe", "stable");
        Assert.That(code, Is.EqualTo(0), error);
        var config = IlgpuGan.Model.IO.Checkpoint.Read(Path.Combine(run, RunFolder.CheckpointFile)).Header.Config;
        var stable = Recipes.Config(Recipe.Stable);
        Assert.That((config.TanhOutput, config.BatchNormBeforeActivation), Is.EqualTo((false, false)), "the seed's layers, from the metadata");
        Assert.That((config.Adam, config.GeneratorAverageDecay, config.DiscriminatorDropout),
            Is.EqualTo((stable.Adam, stable.GeneratorAverageDecay, stable.DiscriminatorDropout)), "the stable recipe's training");
    }

    /// <summary>An exported G's tensors, changed by <paramref name="change"/>, written as a new file to import.</summary>
    string ChangedExport(string name, Action<List<(string Name, SafeTensor Tensor)>> change)
    {
        var exported = Path.Combine(folder, "to-change.safetensors");
        if (!File.Exists(exported))
            Assert.That(Ilgpugan("export", "--checkpoint", Checkpoint("seed"), "--safetensors", exported).Code, Is.EqualTo(0));
        var (tensors, metadata) = Safetensors.Read(exported);
        var list = tensors.Select(t => (t.Key, t.Value)).ToList();
        change(list);
        var file = Path.Combine(folder, name);
        Safetensors.Write(file, list, metadata);
        return file;
    }

    static void Replace(List<(string Name, SafeTensor Tensor)> tensors, string name, SafeTensor tensor) =>
        tensors[tensors.FindIndex(t => t.Name == name)] = (name, tensor);

    static string ImportError(string file)
    {
        var (code, _, error) = Ilgpugan("import", "--safetensors", file, "--out", file + "-run");
        Assert.That(code, Is.EqualTo(Program.Failure), error);
        return error;
    }

    [Test]
    public void ImportNamesWhatIsWrongWithTheFile()
    {
        var good = ChangedExport("good.safetensors", _ => { });
        var bytes = File.ReadAllBytes(good);

        var truncated = Path.Combine(folder, "truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..^100]);
        Assert.That(ImportError(truncated), Does.Contain("past the end of the file").And.Contain("truncated"));

        var shortHeader = Path.Combine(folder, "short-header.safetensors");
        File.WriteAllBytes(shortHeader, bytes[..40]);
        Assert.That(ImportError(shortHeader), Does.Contain($"header length {BitConverter.ToUInt64(bytes, 0)} runs past the end of the file"));

        var tiny = Path.Combine(folder, "tiny.safetensors");
        File.WriteAllBytes(tiny, bytes[..5]);
        Assert.That(ImportError(tiny), Does.Contain("too short"));

        var f64 = ChangedExport("f64.safetensors", t => Replace(t, "fc2.weight", new SafeTensor("F64", [256, 128], new byte[256 * 128 * 8])));
        Assert.That(ImportError(f64), Does.Contain("fc2.weight is F64, IlgpuGan reads F32 only"));

        var missing = ChangedExport("missing.safetensors", t => t.RemoveAll(x => x.Name == "bn3.running_mean"));
        Assert.That(ImportError(missing), Does.Contain("no tensor bn3.running_mean"));

        var extra = ChangedExport("extra.safetensors", t => t.Add(("fc6.weight", SafeTensor.Float32(new float[4], [2, 2]))));
        Assert.That(ImportError(extra), Does.Contain("unexpected tensor fc6.weight"));

        var shape = ChangedExport("shape.safetensors", t => Replace(t, "fc1.weight", SafeTensor.Float32(new float[128 * 50], [128, 50])));
        Assert.That(ImportError(shape), Does.Contain("fc1.weight has shape [128, 50], the generator needs [128, 100]"));
    }

    [Test]
    public void ExportWithoutAnOutputIsAUsageError()
    {
        var (code, _, error) = Ilgpugan("export", "--checkpoint", Checkpoint("seed"));
        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain("nothing to write"));
    }

    static string Python(string python, params string[] arguments)
    {
        Assert.That(PythonInterpreter.TryRun(python, arguments, out var output, out var error), $"{python} {string.Join(' ', arguments)}:\n{error}");
        return output;
    }

    /// <summary>tools/pytorch/seed_gan.py of the checkout the tests were built in (it imports tests/reference/make_golden.py).</summary>
    static string Script()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "IlgpuGan.sln")))
                return Path.Combine(directory.FullName, "tools", "pytorch", "seed_gan.py");
        RequiredChecks.Unavailable("pytorch", $"no checkout (IlgpuGan.sln) above {AppContext.BaseDirectory} holding tools/pytorch/seed_gan.py");
        return null!;
    }
}

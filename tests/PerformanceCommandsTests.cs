using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// `profile` and `bench` end to end on the CPU accelerator at tiny sizes: the shape of their tables and JSON and
/// that the figures hang together, never how fast anything is.
/// </summary>
public sealed class PerformanceCommandsTests : ProgramTests
{
    /// <summary>The reference's Linear layers: G 100→128→256→512→1024→784, D 784→256→128→1.</summary>
    const int LinearLayers = 5 + 3;

    [Test]
    public void ProfileTabulatesEveryKernelOfAStep()
    {
        var json = Folder.File("profile.json");
        // 3 batches of 4: the warm-up step and the 2 profiled steps all lie in the first epoch, so every kernel of a step,
        // the epoch's shuffle aside, runs a whole number of times per step.
        var (code, output, error) = Ilgpugan("profile", "--accelerator", "cpu", "--batch-size", "4", "--images", "12",
            "--steps", "2", "--warmup", "1", "--json", json);

        Assert.That(code, Is.EqualTo(0), error);
        var report = JsonSerializer.Deserialize<ProfileReport>(File.ReadAllText(json))!;
        Assert.That(report.MeasuredOn.Accelerator, Is.EqualTo("Cpu"));
        Assert.That((report.BatchSize, report.Width, report.Steps, report.Warmup), Is.EqualTo((4, 1, 2, 1)));
        Assert.That(report.Kernels, Is.Not.Empty);
        Assert.That(report.Kernels.Select(k => k.Kernel), Is.Unique);
        foreach (var kernel in report.Kernels)
        {
            Assert.That(kernel.LaunchesPerStep, Is.Positive.And.EqualTo(Math.Round(kernel.LaunchesPerStep)), kernel.Kernel);
            Assert.That(kernel.MicrosecondsPerStep, Is.Positive, kernel.Kernel);
            Assert.That(kernel.MeanMicroseconds * kernel.LaunchesPerStep, Is.EqualTo(kernel.MicrosecondsPerStep).Within(1e-6).Percent, kernel.Kernel);
            if (kernel.GflopPerSecond is { } gflops) Assert.That(double.IsFinite(gflops) && gflops > 0, kernel.Kernel);
            if (kernel.GigabytesPerSecond is { } gbs) Assert.That(double.IsFinite(gbs) && gbs > 0, kernel.Kernel);
        }
        Assert.That(report.Kernels.Select(k => k.MicrosecondsPerStep), Is.Ordered.Descending);
        Assert.That(report.Kernels.Sum(k => k.LaunchesPerStep), Is.EqualTo(report.LaunchesPerStep));
        Assert.That(report.Kernels.Sum(k => k.MicrosecondsPerStep), Is.EqualTo(report.KernelMicroseconds).Within(1e-9).Percent);
        Assert.That(report.KernelMicroseconds + report.GapMicroseconds, Is.EqualTo(report.StepMicroseconds).Within(1e-9).Percent);
        Assert.That(report.GapMicroseconds, Is.GreaterThanOrEqualTo(0), "the kernels run inside the step's markers");
        Assert.That(report.Kernels.Sum(k => k.SharePercent) + report.GapSharePercent, Is.EqualTo(100).Within(1e-6));

        // G runs forward in both halves of a step and D on the joint batch and on G's fake: every Linear's
        // forward GEMM at least twice, each with FLOPs to its name.
        var gemms = report.Kernels.Where(k => k.Kernel.StartsWith("gemm", StringComparison.Ordinal)).ToList();
        Assert.That(gemms.Sum(k => k.LaunchesPerStep), Is.GreaterThanOrEqualTo(2 * LinearLayers));
        Assert.That(gemms.All(k => k.GflopPerSecond > 0));

        var lines = output.Split('\n');
        Assert.That(lines[0], Does.StartWith("profile: Cpu"));
        Assert.That(lines[1], Does.Match(@"^kernel\s+launches/step\s+µs/step\s+µs/launch\s+share %\s+GFLOP/s\s+GB/s"));
        foreach (var kernel in report.Kernels)
            Assert.That(lines.Count(l => l.StartsWith(kernel.Kernel + " ", StringComparison.Ordinal)), Is.EqualTo(1), kernel.Kernel);
        Assert.That(lines.Any(l => l.StartsWith("(between kernels", StringComparison.Ordinal)));
        Assert.That(lines.Any(l => l.StartsWith("step ", StringComparison.Ordinal) && l.Contains(" launches per step")));
    }

    /// <summary>The seed's step by default; another recipe's step shows its own kernels, once per step each.</summary>
    [Test]
    public void ProfileTimesTheRecipeItIsGiven()
    {
        string Profile(params string[] recipe)
        {
            var json = Folder.File($"profile{recipe.Length}.json");
            var (code, _, error) = Ilgpugan(["profile", "--accelerator", "cpu", "--batch-size", "4", "--images", "12",
                "--steps", "2", "--warmup", "1", "--json", json, .. recipe]);
            Assert.That(code, Is.EqualTo(0), error);
            return File.ReadAllText(json);
        }
        var seed = JsonSerializer.Deserialize<ProfileReport>(Profile())!;
        var stable = JsonSerializer.Deserialize<ProfileReport>(Profile("--recipe", "stable"))!;

        Assert.That((seed.Recipe, stable.Recipe), Is.EqualTo((Recipe.Reference, Recipe.Stable)));
        Assert.That(seed.Kernels.Select(k => k.Kernel), Has.None.StartWith("dropout").And.None.EqualTo("exponential_average"));
        var launches = stable.Kernels.ToDictionary(k => k.Kernel, k => k.LaunchesPerStep);
        Assert.That(launches["exponential_average"], Is.EqualTo(1), "the average follows each G step");
        Assert.That(launches["tanh_forward"], Is.EqualTo(1), "G runs forward once over both halves' z");
        Assert.That(launches["dropout_forward"], Is.EqualTo(2 * 2), "two hidden layers of D, in both halves");
    }

    [Test]
    public void BenchSweepsTrainingAndGemms()
    {
        var json = Folder.File("bench.json");
        var (code, output, error) = Ilgpugan("bench", "--accelerator", "cpu", "--batch-sizes", "4,8", "--widths", "1",
            "--steps", "1", "--warmup", "0", "--repeats", "1", "--gemm-sizes", "32", "--gemm-batch", "4", "--images", "16",
            "--json", json);

        Assert.That(code, Is.EqualTo(0), error);
        var report = JsonSerializer.Deserialize<BenchReport>(File.ReadAllText(json))!;
        Assert.That((report.Steps, report.Warmup, report.Repeats, report.GemmBatch), Is.EqualTo((1, 0, 1, 4)));
        Assert.That(report.Training.Select(t => (t.BatchSize, t.Width)), Is.EqualTo(new[] { (4, 1), (8, 1) }));
        foreach (var t in report.Training)
        {
            Assert.That(t.MsPerIteration, Is.Positive);
            Assert.That(t.MinMsPerIteration, Is.LessThanOrEqualTo(t.MsPerIteration));
            Assert.That(t.MaxMsPerIteration, Is.GreaterThanOrEqualTo(t.MsPerIteration));
            Assert.That(t.SamplesPerSecond, Is.EqualTo(t.BatchSize * 1000 / t.MsPerIteration).Within(1e-9).Percent);
            Assert.That(t.StepsPerEpoch, Is.EqualTo(16 / t.BatchSize), "an epoch of the 16 --images, drop_last");
            Assert.That(t.EpochSeconds, Is.EqualTo(t.MsPerIteration / 1000 * t.StepsPerEpoch).Within(1e-9).Percent);
            Assert.That(t.ReferenceRunSeconds, Is.EqualTo(300 * t.EpochSeconds).Within(1e-9).Percent);
        }

        var model = report.Gemm.Where(g => g.Source == "model").Select(g => (g.Op, g.M, g.N, g.K)).ToList();
        Assert.That(model, Is.Unique);
        // G's output layer forward over both halves' z (2B rows), D's first layer's weight gradient over the joint
        // batch of 2B rows, and the gradient G's output receives through D's first layer in the G step.
        Assert.That(model, Does.Contain(("nt", 8, 784, 1024)));
        Assert.That(model, Does.Contain(("tn", 256, 784, 8)));
        Assert.That(model, Does.Contain(("nn", 4, 784, 256)));
        Assert.That(model, Does.Not.Contain(("tn", 256, 784, 4)), "D's weight gradients are taken only over the joint batch");
        Assert.That(model, Does.Not.Contain(("nt", 4, 784, 1024)), "G's forward runs once, over 2B rows");
        Assert.That(model, Does.Contain(("tn", 784, 1024, 4)), "G's weight gradients are taken over the G step's B rows");
        Assert.That(report.Gemm.Last(), Is.EqualTo(new GemmSpeed("square", "nn", 32, 32, 32, report.Gemm.Last().OursGflopPerSecond, null, null)));
        Assert.That(report.Gemm.All(g => double.IsFinite(g.OursGflopPerSecond) && g.OursGflopPerSecond > 0));
        Assert.That(report.CuBlas, Does.StartWith("not compared: the Cpu accelerator is not CUDA"));

        Assert.That(output, Does.StartWith("bench: Cpu"));
        Assert.That(output, Does.Match(@"(?m)^batch\s+width\s+ms/iter"));
        Assert.That(output, Does.Match(@"(?m)^4\s+x1\s+\d"));
        Assert.That(output, Does.Match(@"(?m)^8\s+x1\s+\d"));
        Assert.That(output, Does.Match(@"(?m)^square\s+nn\s+32\s+32\s+32\s+\d+\.\d\s+-\s+-$"));
        Assert.That(output, Does.Contain("cuBLAS: not compared"));
    }

    [TestCase("bench", "--batch-sizes", "4,x", "--batch-sizes: 'x' is not a whole number")]
    [TestCase("bench", "--batch-sizes", "1", "--batch-sizes: 1 is less than the minimum 2")]
    [TestCase("bench", "--widths", "0", "--widths: 0 is less than the minimum 1")]
    [TestCase("bench", "--repeats", "0", "--repeats: 0 is less than the minimum 1")]
    [TestCase("bench", "--gemm-sizes", "", "--gemm-sizes: '' is not a whole number")]
    [TestCase("profile", "--steps", "0", "--steps: 0 is less than the minimum 1")]
    [TestCase("profile", "--width", "many", "--width: 'many' is not a whole number")]
    [TestCase("profile", "--warmup", "-1", "--warmup: -1 is less than the minimum 0")]
    public void BadArgumentsExitTwoNamingThem(string command, string option, string value, string message)
    {
        var (code, _, error) = Ilgpugan(command, option, value, "--accelerator", "cpu");

        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain(message));
    }

    [TestCase("profile", "--batch-size", "--batch-size: 16 is more than the 8 --images")]
    [TestCase("bench", "--batch-sizes", "--batch-sizes: 16 is more than the 8 --images")]
    public void ABatchLargerThanTheImagesIsAUsageError(string command, string option, string message)
    {
        var (code, _, error) = Ilgpugan(command, option, "16", "--images", "8", "--accelerator", "cpu");

        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain(message));
    }
}

/// <summary>The library names ILGPU and ILGPU.Algorithms ask for, and the files tried when the loader finds none.</summary>
public sealed class NativeLibraryFallbackTests
{
    [Test]
    public void CuBlasFallsBackToEveryOtherVersionNewestFirst()
    {
        Assume.That(OperatingSystem.IsLinux());

        Assert.That(NativeLibraryFallback.FallbackFiles("libcublas.so.12"),
            Is.EqualTo(new[] { "libcublas.so.13", "libcublas.so.11", "libcublas.so.10", "libcublas.so" }));
        Assert.That(NativeLibraryFallback.FallbackFiles("libcublas.so.10")[0], Is.EqualTo("libcublas.so.13"));
        Assert.That(NativeLibraryFallback.FallbackFiles("libcuda.so"), Is.EqualTo(new[] { "libcuda.so.1" }));
        Assert.That(NativeLibraryFallback.FallbackFiles("libOpenCL.so"), Is.EqualTo(new[] { "libOpenCL.so.1" }));
        Assert.That(NativeLibraryFallback.FallbackFiles("libcufft.so.12"), Is.Empty);
    }
}

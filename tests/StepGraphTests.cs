using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// What a CUDA graph of a training step needs: two consecutive steps launch the same kernels with the same arguments.
/// Every launch's kernel comes from the profiler, which marks all of them; the arguments (scalars, and each view's
/// buffer, offset and length) from the launches that report them to <see cref="ComputeDevice.Recorder"/>: those
/// that took a per-step value before it moved into the device's step state (the step's inputs, the shuffle, Adam, the average,
/// dropout); the GEMMs and the other layers' kernels never took one.
/// </summary>
public sealed class StepGraphTests
{
    [TestCase(AcceleratorKind.Cpu, KernelVariant.Auto, Recipe.Reference)]
    [TestCase(AcceleratorKind.Cpu, KernelVariant.Auto, Recipe.Stable)]
    [TestCase(AcceleratorKind.Cpu, KernelVariant.Portable, Recipe.Stable)]
    [TestCase(AcceleratorKind.OpenCL, KernelVariant.Auto, Recipe.Reference)]
    [TestCase(AcceleratorKind.OpenCL, KernelVariant.Auto, Recipe.Stable)]
    public void TwoConsecutiveStepsLaunchTheSame(AcceleratorKind kind, KernelVariant variant, Recipe recipe)
    {
        if (kind != AcceleratorKind.Cpu && !Backends.Available().Contains(kind))
            RequiredChecks.Unavailable("opencl", "no usable OpenCL device");
        using var device = ComputeDevice.Create(kind, profiling: true);
        var kernels = new KernelSet(device, variant);
        var config = Recipes.Config(recipe) with { BatchSize = 4, LearningRateDecayFrom = 0, LearningRateDecayTo = 2 };
        config = config with { ZDim = 8, Image = new(1, 4, 4), GeneratorWidths = [8, 8, 8, 8], DiscriminatorWidths = [8, 8] };
        using var gan = Measurement.InitializedGan(kernels, config);
        // 4 steps an epoch: steps 1 and 2 are an epoch's middle steps (the shuffle launches at an epoch's first).
        using var data = Measurement.SyntheticImages(kernels, 17, config.ImagePixels, seed: 1);
        gan.TrainStep(data, 0);
        var first = Record(device, () => gan.TrainStep(data, 1));
        var second = Record(device, () => gan.TrainStep(data, 2));
        TestContext.Out.WriteLine(string.Join("\n", first.Arguments));

        Assert.That(first.Arguments, Has.Count.GreaterThanOrEqualTo(recipe == Recipe.Stable ? 6 : 3),
            "the recorder saw the step's inputs and both Adams" + (recipe == Recipe.Stable ? ", the average and D's dropouts" : ""));
        Assert.That(second.Kernels, Is.EqualTo(first.Kernels), "the steps' kernels");
        Assert.That(second.Arguments, Is.EqualTo(first.Arguments), "the steps' launch arguments");
    }

    static (List<string> Kernels, List<string> Arguments) Record(ComputeDevice device, Action step)
    {
        var recorder = new LaunchRecorder();
        device.Recorder = recorder;
        device.Profiler!.Clear();
        step();
        device.Synchronize();
        device.Recorder = null;
        var kernels = device.Profiler.Launches.Select(l => l.Kernel).ToList();
        device.Profiler.Clear();
        return (kernels, recorder.Launches.ToList());
    }
}

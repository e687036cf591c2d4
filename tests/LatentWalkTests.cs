using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>`interpolate`'s walk, drawn from a checkpoint of a short real run on tiny data.</summary>
[NonParallelizable]
public sealed class LatentWalkTests
{
    const int Points = 3, Frames = 4;

    string folder = null!;
    string checkpoint = null!;
    ComputeDevice device = null!;
    KernelSet kernels = null!;
    Checkpoint.Contents contents = null!;

    [OneTimeSetUp]
    public void TrainAShortRun()
    {
        folder = Directory.CreateTempSubdirectory("ilgpugan-walk-").FullName;
        checkpoint = RunFolder.CheckpointOf(ProgramTests.TrainTinyRun(folder, "run", "--epochs", "1", "--seed", "3"));
        device = ComputeDevice.Create(AcceleratorKind.Cpu);
        kernels = new KernelSet(device);
        contents = Checkpoint.Read(checkpoint);
    }

    [OneTimeTearDown]
    public void RemoveFolder()
    {
        device.Dispose();
        Directory.Delete(folder, recursive: true);
    }

    /// <summary>With the running statistics each frame is G of its own z, so a leg's first frame is the sample of its anchor.</summary>
    [Test]
    public void LegsStartOnTheSamplesOfTheirAnchors()
    {
        var walk = LatentWalk.Draw(kernels, contents, checkpoint, Points, Frames, seed: 9, SampleMode.Eval);

        using var gan = Sampling.Restore(kernels, contents with { Header = contents.Header with { Config = contents.Header.Config with { BatchSize = Points } } }, checkpoint);
        using var anchors = device.Accelerator.Allocate1D<float>(Points * gan.Config.ZDim);
        LatentWalk.DrawAnchors(kernels, anchors.View, Points, gan.Config.ZDim, seed: 9);
        var ofAnchors = gan.SamplingGenerator.Forward(anchors.View, Points, ForwardMode.Eval).SubView(0, Points * 784).GetAsArray();

        Assert.That(walk, Has.Length.EqualTo(Points * Frames * 784).And.All.Matches<float>(float.IsFinite));
        for (int point = 0; point < Points; point++)
            TestData.AssertClose(TestData.ToDouble(ofAnchors[(point * 784)..((point + 1) * 784)]),
                walk[(point * Frames * 784)..((point * Frames + 1) * 784)], 1e-6, 1e-6, $"leg {point}'s first frame");
        Assert.That(walk[784..(2 * 784)], Is.Not.EqualTo(walk[..784]), "the walk moves between anchors");
    }

    /// <summary>The seed alone fixes the walk, in train mode too (all frames normalised as one batch).</summary>
    [Test]
    public void TheSeedFixesTheWalk()
    {
        var first = LatentWalk.Draw(kernels, contents, checkpoint, Points, Frames, seed: 2, SampleMode.Train);
        var second = LatentWalk.Draw(kernels, contents, checkpoint, Points, Frames, seed: 2, SampleMode.Train);

        Assert.That(second, Is.EqualTo(first));
        Assert.That(LatentWalk.Draw(kernels, contents, checkpoint, Points, Frames, seed: 3, SampleMode.Train), Is.Not.EqualTo(first));
    }
}

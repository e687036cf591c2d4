using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// Files written before the image shape was recorded, kept in tests/reference/before-image-shape: a stable run's
/// checkpoint (z 4, G 6, D 5, three steps on random 28×28 images), its G exported as safetensors, and 5 samples its
/// build drew (`sample --count 5 --bn eval`). They read as MNIST's 1×28×28 and draw the same samples.
/// </summary>
public class BeforeImageShapeTests
{
    static string Reference(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "reference", "before-image-shape", name);

    [Test]
    public void CheckpointReadsAsMnistAndDrawsTheSameSamples()
    {
        using var folder = new TempFolder();
        Assert.That(Checkpoint.Read(Reference(RunFolder.CheckpointFile)).Header.Config.Image, Is.EqualTo(ImageShape.Mnist));

        var (code, _, error) = ProgramTests.Ilgpugan("sample", "--checkpoint", Reference(RunFolder.CheckpointFile), "--count", "5", "--bn", "eval",
            "--no-png", "--idx", folder.File("samples"), "--accelerator", "cpu");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(File.ReadAllBytes(folder.File("samples")), Is.EqualTo(File.ReadAllBytes(Reference("samples-idx3-ubyte"))));
    }

    [Test]
    public void ExportImportsAsMnist()
    {
        using var folder = new TempFolder();
        var (code, _, error) = ProgramTests.Ilgpugan("import", "--safetensors", Reference("G.safetensors"), "--out", folder.File("run"));

        Assert.That(code, Is.EqualTo(0), error);
        var config = Checkpoint.Read(folder.File("run", RunFolder.CheckpointFile)).Header.Config;
        Assert.That(config.Image, Is.EqualTo(ImageShape.Mnist));
        Assert.That(config.ZDim, Is.EqualTo(4));
    }
}

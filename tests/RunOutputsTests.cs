using System.Text.Json;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuGan.Tests;

/// <summary>What a run leaves to look at and to reuse: kept snapshots, the best checkpoint, sample folders, latent walks, the report.</summary>
public sealed class RunOutputsTests : ProgramTests
{
    string[] Train(string run, params string[] extra) =>
        ["train", "--data", WriteTinyMnist(), "--out", Folder.File(run), "--batch-size", "8", "--accelerator", "cpu",
         "--epochs", "3", "--seed", "4", .. extra];

    [Test]
    public void KeepsSnapshotsAndTheBestCheckpointByFrechetDistance()
    {
        var classifier = WriteTinyClassifier(WriteTinyMnist(), Folder.File("classifier.bin"));
        var (code, output, error) = Ilgpugan(Train("run", "--keep-every", "2", "--eval-every", "1", "--eval-samples", "32",
            "--classifier", classifier));

        Assert.That(code, Is.Zero, error);
        var snapshots = Folder.File("run", RunFolder.SnapshotFolder);
        Assert.That(Directory.GetFiles(snapshots, "epoch_*.ckpt").Select(Path.GetFileName),
            Is.EquivalentTo(new[] { "epoch_002.ckpt", "epoch_003.ckpt" }), "after epoch 2, and at the run's end");
        var table = MetricsTable.Read(Folder.File("run", "metrics.csv"));
        var frechet = table.Column("frechet");
        int best = Array.IndexOf(frechet, frechet.Min());
        Assert.That(Checkpoint.Read(Path.Combine(snapshots, RunFolder.BestCheckpointFile)).Header.Step,
            Is.EqualTo((long)table.Column("step")[best]), "best.ckpt is the row of the lowest Fréchet distance");
        using var ceiling = JsonDocument.Parse(File.ReadAllText(Folder.File("run", RunReport.CeilingFile)));
        Assert.That(ceiling.RootElement.GetProperty("frechet").GetDouble(), Is.GreaterThanOrEqualTo(0));
        var report = File.ReadAllText(Folder.File("run", RunReport.FileName));
        Assert.That(report, Does.Contain("class=\"level\""), "the report draws the real digits' figures as lines");
        Assert.That(output, Does.Contain("real images: Parzen"));
    }

    [Test]
    public void SampleWritesAFolderOfPngsThatDecodeToTheIdxBytes()
    {
        Assert.That(Ilgpugan(Train("run", "--max-steps", "6")).Code, Is.Zero);
        var idx = Folder.File("samples-idx3-ubyte");

        // A run folder stands for its checkpoint.
        var (code, _, error) = Ilgpugan(["sample", "--checkpoint", Folder.File("run"), "--count", "11", "--idx", idx,
            "--png-dir", Folder.File("pngs"), "--no-png", "--accelerator", "cpu"]);

        Assert.That(code, Is.Zero, error);
        var pixels = IdxFile.ReadImages(idx).Pixels;
        var files = Directory.GetFiles(Folder.File("pngs")).Order(StringComparer.Ordinal).ToArray();
        Assert.That(files.Select(Path.GetFileName), Is.EqualTo(Enumerable.Range(0, 11).Select(i => $"{i:000000}.png")));
        for (int i = 0; i < files.Length; i++)
        {
            using var image = Image.Load<L8>(files[i]);
            Assert.That((image.Width, image.Height), Is.EqualTo((28, 28)));
            var decoded = new byte[784];
            image.CopyPixelDataTo(decoded);
            Assert.That(decoded, Is.EqualTo(pixels[(i * 784)..((i + 1) * 784)]), $"sample {i}");
        }
        Assert.That(File.Exists(Folder.File("samples.png")), Is.False, "--no-png writes no grid");
    }

    [Test]
    public void InterpolateWritesTheWalkAsAGifAndAStrip()
    {
        Assert.That(Ilgpugan(Train("run", "--max-steps", "6")).Code, Is.Zero);

        var (code, output, error) = Ilgpugan(["interpolate", "--checkpoint", Folder.File("run"), "--points", "3", "--frames", "5",
            "--gif", Folder.File("walk.gif"), "--png", Folder.File("walk.png"), "--accelerator", "cpu"]);

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("3 points, 5 frames each"));
        using var gif = Image.Load<L8>(Folder.File("walk.gif"));
        Assert.That(gif.Frames.Count, Is.EqualTo(15));
        using var strip = Image.Load<L8>(Folder.File("walk.png"));
        Assert.That((strip.Width, strip.Height), Is.EqualTo((5 * 30 + 2, 3 * 30 + 2)), "a leg per row, a frame per column");
    }

    [Test]
    public void ReportRewritesThePageOfARunFolder()
    {
        Assert.That(Ilgpugan(Train("run", "--max-steps", "6")).Code, Is.Zero);
        File.Delete(Folder.File("run", RunReport.FileName));

        var (code, output, error) = Ilgpugan(["report", "--run", Folder.File("run")]);

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain(RunReport.FileName));
        Assert.That(File.ReadAllText(Folder.File("run", RunReport.FileName)), Does.Contain("<svg "));
        Assert.That(Ilgpugan(["report", "--run", Folder.File("missing")]).Code, Is.EqualTo(1));
    }
}

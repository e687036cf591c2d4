using System.Text.RegularExpressions;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// A run folder as the trainer wrote it while it counted epochs from 0, kept in fixtures/run-epochs-from-0: two
/// epochs of the tiny set (batch 8, z 2, widths 1, seed 3) with a grid, a checkpoint and a snapshot at each. Its
/// report counts from 1 as today's do, and a resume goes on numbering its files and rows as the folder does.
/// </summary>
public sealed class EarlierRunFolderTests : ProgramTests
{
    string run = null!;

    [SetUp]
    public void CopyTheFixture()
    {
        run = Folder.File("run");
        var fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "run-epochs-from-0");
        foreach (var file in Directory.GetFiles(fixture, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(run, Path.GetRelativePath(fixture, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
    }

    string[] Files(string folder) => Directory.GetFiles(Path.Combine(run, folder)).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    static string[] Captions(string html) =>
        Regex.Matches(html, "<figcaption>after epoch (\\d+)</figcaption>").Select(m => m.Groups[1].Value).ToArray();

    [Test]
    public void ItsReportCountsEpochsFromOne()
    {
        var table = MetricsTable.Read(Path.Combine(run, "metrics.csv"));
        Assert.That(table.FirstEpoch, Is.Zero, "told by the first column's name");
        Assert.That(table.Column(MetricsTable.EpochColumn), Is.EqualTo(new double[] { 1, 2 }));

        var html = RunReport.Build(run);

        Assert.That(Captions(html), Is.EqualTo(new[] { "1", "2" }), "epoch_000.png is after epoch 1");
        Assert.That(html, Does.Contain($"<th>{MetricsTable.EpochColumn}</th><td>2</td>"));
    }

    [Test]
    public void AResumeGoesOnInTheFolderOwnNumbering()
    {
        var (code, output, error) = Ilgpugan("train", "--resume", run, "--data", WriteTinyMnist(), "--epochs", "3");

        Assert.That(code, Is.Zero, error);
        Assert.That(output, Does.Contain("at step 12 (epoch 3 next)").And.Contain("epoch 3 step 18/18:"), "the terminal counts from 1");
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.That(metrics[0], Does.StartWith(MetricsTable.ZeroBasedEpochColumn + ",step,"));
        Assert.That(metrics.Skip(1).Select(row => row.Split(',')[0]), Is.EqualTo(new[] { "0", "1", "2" }));
        Assert.That(Files("samples"), Is.EqualTo(new[] { "epoch_000.png", "epoch_001.png", "epoch_002.png" }));
        Assert.That(Files(RunFolder.SnapshotFolder), Is.EqualTo(new[] { "epoch_000.ckpt", "epoch_001.ckpt", "epoch_002.ckpt" }));
        Assert.That(Captions(File.ReadAllText(Path.Combine(run, RunReport.FileName))), Is.EqualTo(new[] { "1", "2", "3" }));
    }

    /// <summary>Back to the first epoch's checkpoint: what came after it goes, by the folder's numbering.</summary>
    [Test]
    public void AResumeCutsBackInTheFolderOwnNumbering()
    {
        File.Copy(Path.Combine(run, RunFolder.SnapshotFolder, "epoch_000.ckpt"), Path.Combine(run, RunFolder.CheckpointFile), overwrite: true);

        var (code, _, error) = Ilgpugan("train", "--resume", run, "--data", WriteTinyMnist(), "--epochs", "3", "--sample-every", "2");

        Assert.That(code, Is.Zero, error);
        Assert.That(Files("samples"), Is.EqualTo(new[] { "epoch_000.png", "epoch_002.png" }), "the second epoch's grid is gone, and --sample-every 2 makes none again");
        Assert.That(File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1).Select(row => row.Split(',')[..2]),
            Is.EqualTo(new[] { new[] { "0", "6" }, ["1", "12"], ["2", "18"] }));
    }
}

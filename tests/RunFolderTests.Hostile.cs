using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// A run folder that others may have tampered with, raced or killed in: one trainer at a time for certain, nothing
/// written or deleted outside the folder, nothing cleared before a new run is known to start, a checkpoint's saved
/// options and data checked, and every file the folder's readers take refused in one line when it is not theirs.
/// </summary>
public sealed partial class RunFolderTests
{
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    string RunFile(params string[] names) => Path.Combine([run, .. names]);

    /// <summary>The program in-process, failed rather than waited on when it hangs.</summary>
    static (int Code, string Output, string Error) WithinLimit(params string[] args)
    {
        var task = Task.Run(() => Ilgpugan(args));
        Assert.That(task.Wait(Limit), $"ilgpugan {string.Join(' ', args)} did not end within {Limit.TotalSeconds} s");
        return task.Result;
    }

    /// <summary>A refusal as the project makes one: the exit code and one line that names what it must.</summary>
    static void AssertRefused((int Code, string Output, string Error) result, int code, params string[] named)
    {
        Assert.That(result.Code, Is.EqualTo(code), result.Output + result.Error);
        var lines = result.Error.TrimEnd('\n').Split('\n');
        Assert.That(lines[0], Does.StartWith("ilgpugan: "));
        Assert.That(lines.Length, Is.EqualTo(code == UsageException.ExitCode ? 2 : 1), result.Error);
        foreach (var name in named) Assert.That(lines[0], Does.Contain(name));
    }

    static void MakeFifo(string path)
    {
        using var mkfifo = Process.Start("mkfifo", path);
        mkfifo.WaitForExit();
    }

    /// <summary>Two trainers opening one folder at once, on a fresh folder and on a stale lock: exactly one gets it, every time.</summary>
    [Test]
    public void OfTwoTrainersOpeningAFolderAtOnceExactlyOneGetsIt()
    {
        var lockFile = RunFile(RunFolder.LockFile);
        for (int round = 0; round < 100; round++)
        {
            if (round % 2 == 1) File.WriteAllText(lockFile, "999999999");
            using var start = new Barrier(2);
            var opened = new RunFolder?[2];
            var threads = Enumerable.Range(0, 2).Select(i => new Thread(() =>
            {
                start.SignalAndWait();
                try { opened[i] = RunFolder.Open(run, TextWriter.Null); }
                catch (IOException) { }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
            int held = opened.Count(o => o is not null);
            foreach (var folder in opened) folder?.Dispose();
            Assert.That(held, Is.EqualTo(1), $"round {round} ({(round % 2 == 1 ? "a stale lock" : "a fresh folder")})");
        }
    }

    /// <summary>The same race between two real trainers on a stale lock: one trains, the other is refused.</summary>
    [Test]
    public void OfTwoTrainersStartedTogetherOnAStaleLockOneTrains()
    {
        Directory.CreateDirectory(run);
        File.WriteAllText(RunFile(RunFolder.LockFile), "999999999");
        using var first = ChildTrainer.Start(Train("--epochs", "100000", "--checkpoint-minutes", "0"));
        using var second = ChildTrainer.Start(Train("--epochs", "100000", "--checkpoint-minutes", "0"));
        var clock = Stopwatch.StartNew();
        bool Settled(ChildTrainer child) => child.HasExited || child.Output.Contains("epoch 1 step 6/", StringComparison.Ordinal);
        while (!(Settled(first) && Settled(second)) && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(20);

        var refused = new[] { first, second }.Where(c => c.HasExited).ToList();
        Assert.That(refused, Has.Count.EqualTo(1), $"first:\n{first.Output}\nsecond:\n{second.Output}");
        var (code, output) = refused[0].WaitForExit();
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("another trainer"));
        var trainer = refused[0] == first ? second : first;
        ChildTrainer.Signal(trainer.Id, "TERM");
        Assert.That(trainer.WaitForExit().Code, Is.EqualTo(143));
    }

    [Test]
    public void ALockThatIsAFifoOrALinkIsRefused()
    {
        Directory.CreateDirectory(run);
        var lockFile = RunFile(RunFolder.LockFile);
        MakeFifo(lockFile);
        AssertRefused(WithinLimit(Train("--max-steps", "1")), 1, lockFile, "not a regular file");

        File.Delete(lockFile);
        var outside = Folder.File("outside.txt");
        File.WriteAllText(outside, "precious");
        File.CreateSymbolicLink(lockFile, outside);
        AssertRefused(WithinLimit(Train("--max-steps", "1")), 1, lockFile, "a link");
        Assert.That(File.ReadAllText(outside), Is.EqualTo("precious"));
    }

    /// <summary>samples/ or checkpoints/ linked to a folder outside: refused by a resume and by --overwrite, which delete nothing there.</summary>
    [TestCase("samples", "epoch_001.png")]
    [TestCase("checkpoints", "epoch_001.ckpt")]
    public void ALinkedFolderIsRefusedAndNothingOutsideIsDeleted(string name, string file)
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--max-steps", "7", "--keep-every", "1")).Code, Is.EqualTo(0));
        var outside = Folder.File("outside");
        Directory.CreateDirectory(outside);
        foreach (var kept in new[] { file, file.Replace("001", "003"), ".x.999999999.tmp" })
            File.WriteAllText(Path.Combine(outside, kept), "precious");
        Directory.Delete(RunFile(name), recursive: true);
        Directory.CreateSymbolicLink(RunFile(name), outside);

        AssertRefused(WithinLimit("train", "--resume", run), 1, RunFile(name), "a link");
        AssertRefused(WithinLimit(Train("--max-steps", "1", "--overwrite")), 1, RunFile(name), "a link");
        Assert.That(Directory.GetFiles(outside).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { ".x.999999999.tmp", file, file.Replace("001", "003") }));
        Assert.That(File.Exists(RunFile(RunFolder.CheckpointFile)), "the run is kept");
    }

    /// <summary>--resume of a checkpoint that is not a run folder's own: refused before anything is written or removed.</summary>
    [Test]
    public void ResumeOfACheckpointOutsideARunFolderIsRefused()
    {
        Assert.That(Ilgpugan(Train("--epochs", "2", "--keep-every", "1")).Code, Is.EqualTo(0));
        var elsewhere = Folder.File("some", "dir");
        Directory.CreateDirectory(elsewhere);
        var model = Path.Combine(elsewhere, "model.ckpt");
        File.Copy(RunFile(RunFolder.CheckpointFile), model);
        var foreign = Path.Combine(elsewhere, ".notes.999999999.tmp");
        File.WriteAllText(foreign, "someone's");

        AssertRefused(WithinLimit("train", "--resume", model), UsageException.ExitCode, model, "--from");
        Assert.That(Directory.GetFileSystemEntries(elsewhere).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { ".notes.999999999.tmp", "model.ckpt" }), "nothing made or removed there");

        var snapshots = RunFile(RunFolder.SnapshotFolder);
        var before = Directory.GetFileSystemEntries(snapshots).Order(StringComparer.Ordinal).ToList();
        AssertRefused(WithinLimit("train", "--resume", Path.Combine(snapshots, "epoch_001.ckpt")), UsageException.ExitCode, "epoch_001.ckpt");
        AssertRefused(WithinLimit("train", "--resume", snapshots), UsageException.ExitCode, run);
        Assert.That(Directory.GetFileSystemEntries(snapshots).Order(StringComparer.Ordinal), Is.EqualTo(before), "no run nested in checkpoints/");
    }

    /// <summary>--overwrite with bad data or a batch larger than the data: refused, and the old run is all there.</summary>
    [Test]
    public void OverwriteClearsNothingUntilTheNewRunCanStart()
    {
        Assert.That(Ilgpugan(Train("--epochs", "2", "--keep-every", "1")).Code, Is.EqualTo(0));
        var files = new[] { RunFolder.CheckpointFile, "metrics.csv", "config.json", "report.html", "progress.gif", "samples/epoch_001.png", "checkpoints/epoch_001.ckpt" }
            .ToDictionary(f => f, f => File.ReadAllBytes(RunFile(f)));
        var badData = Folder.File("bad");
        Directory.CreateDirectory(badData);
        foreach (var name in Directory.GetFiles(data)) File.WriteAllBytes(Path.Combine(badData, Path.GetFileName(name)), new byte[20]);

        AssertRefused(WithinLimit(["train", "--data", badData, "--out", run, "--accelerator", "cpu", "--overwrite"]), 1, badData);
        AssertRefused(WithinLimit(["train", "--data", data, "--out", run, "--accelerator", "cpu", "--batch-size", "4096", "--overwrite"]), 1, "--batch-size");
        foreach (var (file, bytes) in files) Assert.That(File.ReadAllBytes(RunFile(file)), Is.EqualTo(bytes), file);
    }

    /// <summary>Rewrites the run's checkpoint with one of its saved run options changed.</summary>
    void EditSavedOption(string field, JsonNode? value)
    {
        var path = RunFile(RunFolder.CheckpointFile);
        var contents = Checkpoint.Read(path);
        var options = JsonNode.Parse(contents.Header.RunOptions!.Value.GetRawText())!;
        options[field] = value;
        TensorFile.Write(path, "IGGANCK1", Checkpoint.Version, contents.Header with { RunOptions = JsonSerializer.SerializeToElement(options) },
            contents.Tensors.Select(t => (t.Key, t.Value)).ToList());
    }

    [TestCase("SampleEvery", 0, "sample-every 0")]
    [TestCase("CheckpointEvery", 0, "checkpoint-every 0")]
    [TestCase("EvalSamples", 0, "eval-samples 0")]
    [TestCase("Epochs", -3, "epochs -3")]
    [TestCase("Accelerator", 5, "accelerator 5")]
    public void SavedRunOptionsOutOfRangeAreRefused(string field, int value, string problem)
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--max-steps", "7", "--eval-every", "0")).Code, Is.EqualTo(0));
        EditSavedOption(field, value);
        AssertRefused(WithinLimit("train", "--resume", run), 1, RunFile(RunFolder.CheckpointFile), problem);
    }

    /// <summary>The run records its training images; a resume on others, or on a data folder its checkpoint was edited to name, is refused.</summary>
    [Test]
    public void ResumeRefusesDataTheRunDidNotTrainOn()
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--max-steps", "7")).Code, Is.EqualTo(0));
        var other = Folder.File("other");
        Directory.CreateDirectory(other);
        foreach (var file in Directory.GetFiles(data)) File.Copy(file, Path.Combine(other, Path.GetFileName(file)));
        var images = Path.Combine(other, "train-images-idx3-ubyte");
        var bytes = File.ReadAllBytes(images);
        bytes[^1] ^= 0x40;
        File.WriteAllBytes(images, bytes);

        var refused = WithinLimit("train", "--resume", run, "--data", other);
        AssertRefused(refused, 1, other, "not those the run trained on");
        Assert.That(refused.Error.Split("48 images, SHA-256 ").Length, Is.EqualTo(3), "both fingerprints named");

        var elsewhere = Folder.File("new-data");
        EditSavedOption("DataDir", elsewhere);
        AssertRefused(WithinLimit("train", "--resume", run), 1, elsewhere);
        Assert.That(Directory.Exists(elsewhere), Is.False, "nothing fetched into a folder the checkpoint names");

        var (code, _, error) = WithinLimit("train", "--resume", run, "--data", data, "--max-steps", "1");
        Assert.That(code, Is.EqualTo(0), error);
    }

    /// <summary>
    /// A kill after the checkpoint but before its snapshot, as a deleted snapshot stands for: the resume makes the
    /// snapshot the checkpoint's step promises, and removes the temporary file a killed writer left in checkpoints/.
    /// </summary>
    [Test]
    public void ResumeRestoresTheSnapshotAKillPrevented()
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--max-steps", "12", "--keep-every", "1")).Code, Is.EqualTo(0));
        var snapshot = RunFile(RunFolder.SnapshotFolder, "epoch_002.ckpt");
        File.Delete(snapshot);
        var orphan = RunFile(RunFolder.SnapshotFolder, ".epoch_003.ckpt.999999999.tmp");
        File.WriteAllBytes(orphan, new byte[100]);

        var (code, output, error) = WithinLimit("train", "--resume", run, "--max-steps", "6");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(File.Exists(snapshot), "the snapshot is made again");
        Assert.That(Checkpoint.Read(snapshot).Header.Step, Is.EqualTo(12));
        Assert.That(output, Does.Contain($"restored {snapshot}"));
        Assert.That(File.Exists(orphan), Is.False);
        Assert.That(Directory.GetFiles(RunFile(RunFolder.SnapshotFolder)).Select(Path.GetFileName).Order(StringComparer.Ordinal),
            Is.EqualTo(new[] { "epoch_001.ckpt", "epoch_002.ckpt", "epoch_003.ckpt" }));
    }

    /// <summary>The same for best.ckpt, when the best row of metrics.csv is at the checkpoint's step.</summary>
    [Test]
    public void ResumeRestoresTheBestCheckpointAKillPrevented()
    {
        Assert.That(Ilgpugan(Train("--epochs", "2", "--max-steps", "6", "--eval-every", "1", "--eval-samples", "32",
            "--classifier", WriteTinyClassifier(data, Folder.File("classifier.bin")))).Code, Is.EqualTo(0));
        var best = RunFile(RunFolder.SnapshotFolder, RunFolder.BestCheckpointFile);
        File.Delete(best);

        var (code, _, error) = WithinLimit("train", "--resume", run, "--epochs", "1");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(File.Exists(best), "best.ckpt is made again");
        Assert.That(Checkpoint.Read(best).Header.Step, Is.EqualTo(6));
    }

    /// <summary>
    /// A learning rate of 10¹² edited into the checkpoint: the running variance overflows while the losses may stay
    /// finite; the device's check at the epoch's end stops the run with exit 1, names the tensor and keeps the checkpoint.
    /// </summary>
    [Test]
    public void DivergenceStopsTheRunAndKeepsTheLastFiniteCheckpoint()
    {
        Assert.That(Ilgpugan(Train("--epochs", "4", "--max-steps", "6", "--g-widths", "32,32", "--d-widths", "32,32")).Code, Is.EqualTo(0));
        var path = RunFile(RunFolder.CheckpointFile);
        var contents = Checkpoint.Read(path);
        var config = contents.Header.Config;
        TensorFile.Write(path, "IGGANCK1", Checkpoint.Version,
            contents.Header with { Config = config with { Adam = config.Adam with { LearningRate = 1e12f } } },
            contents.Tensors.Select(t => (t.Key, t.Value)).ToList());
        var saved = File.ReadAllBytes(path);

        var result = WithinLimit("train", "--resume", run);

        AssertRefused(result, 1, "training stopped by step 12", $"the checkpoint of step 6 in {run} is kept");
        Assert.That(result.Error, Does.Match(@"(G|D|G's average)'s \S+\[\d+\]( \(Adam [mv]\))? is (NaN|-?Infinity)"));
        Assert.That(File.ReadAllBytes(path), Is.EqualTo(saved), "the last finite checkpoint is kept");
    }

    /// <summary>A garbage sample grid, a FIFO or a device behind a run's text files: one line, no trace, no hang.</summary>
    [Test]
    public void NonFilesAndGarbageGridsAreRefusedInOneLine()
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--max-steps", "12", "--sample-every", "1")).Code, Is.EqualTo(0));
        var grid = RunFile("samples", "epoch_001.png");
        File.WriteAllBytes(grid, [0x89, (byte)'P', (byte)'N', (byte)'G', 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        AssertRefused(WithinLimit("train", "--resume", run, "--max-steps", "6"), 1, grid);

        foreach (var name in new[] { "config.json", "eval_ceiling.json" })
        {
            File.Delete(RunFile(name));
            MakeFifo(RunFile(name));
            AssertRefused(WithinLimit("report", "--run", run), 1, RunFile(name));
            File.Delete(RunFile(name));
        }
        var metrics = RunFile("metrics.csv");
        File.Delete(metrics);
        MakeFifo(metrics);
        Assert.That(WithinLimit("report", "--run", run).Code, Is.EqualTo(0), "a FIFO reads as an empty metrics.csv, never opened");
        File.Delete(metrics);
        File.CreateSymbolicLink(metrics, "/dev/zero");
        Assert.That(WithinLimit("report", "--run", run).Code, Is.EqualTo(0), "so does a device");
        File.Delete(metrics);
        using (var sparse = File.Create(metrics)) sparse.SetLength(1L << 30);
        AssertRefused(WithinLimit("report", "--run", run), 1, metrics, "bytes");
    }

    /// <summary>99,000 rows: the report reads and draws them in one pass each (it took minutes when quadratic).</summary>
    [Test]
    public void AReportOfManyRowsEnds()
    {
        Directory.CreateDirectory(run);
        var rows = Enumerable.Range(0, 99_000).Select(e => $"{e},{(e + 1) * 6},0.5,0.7,0.5,0.4,1.000,48.0{new string(',', 16)}");
        File.WriteAllLines(RunFile("metrics.csv"), [MetricsLog.HeaderFor(10), .. rows]);
        var (code, _, error) = WithinLimit("report", "--run", run);
        Assert.That(code, Is.EqualTo(0), error);
    }
}

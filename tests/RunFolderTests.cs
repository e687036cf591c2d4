using System.Diagnostics;
using System.Text;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// A run folder nothing can wipe: refuse or resume, a resume that continues the run's own options, a stop by
/// signal that keeps the work, one writer at a time, outputs cut back to the checkpoint, and readers that refuse
/// what is not their file. The signals go to real `ilgpugan` processes; an epoch of batch 8 is 6 steps.
/// </summary>
public sealed partial class RunFolderTests : ProgramTests
{
    string data = null!;
    string run = null!;

    [SetUp]
    public void MakeData()
    {
        data = WriteTinyMnist();
        run = Folder.File("run");
    }

    string[] Train(params string[] extra) =>
        ["train", "--data", data, "--out", run, "--batch-size", "8", "--accelerator", "cpu", "--seed", "3", .. extra];

    long CheckpointStep() => Checkpoint.Read(Path.Combine(run, RunFolder.CheckpointFile)).Header.Step;

    IReadOnlyList<long> MetricsSteps() =>
        MetricsTable.Read(Path.Combine(run, "metrics.csv")).Column("step").Select(step => (long)step).ToList();

    [Test]
    public void TrainIntoARunIsRefusedUnlessOverwritten()
    {
        Assert.That(Ilgpugan(Train("--epochs", "2")).Code, Is.EqualTo(0));
        var checkpoint = File.ReadAllBytes(Path.Combine(run, RunFolder.CheckpointFile));

        var (code, _, error) = Ilgpugan(Train("--max-steps", "3"));
        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain("already holds a run").And.Contain("--resume " + run).And.Contain("--overwrite"));
        Assert.That(File.ReadAllBytes(Path.Combine(run, RunFolder.CheckpointFile)), Is.EqualTo(checkpoint), "the run is untouched");

        // Another batch size too: the new run's grids do not meet the old run's in progress.gif.
        (code, _, error) = Ilgpugan("train", "--data", data, "--out", run, "--batch-size", "16", "--accelerator", "cpu",
            "--max-steps", "3", "--overwrite");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(MetricsSteps(), Is.EqualTo(new long[] { 3 }), "the old run's rows are gone");
        Assert.That(Directory.GetFiles(Path.Combine(run, "samples")).Select(Path.GetFileName), Is.EqualTo(new[] { "epoch_001.png" }));
    }

    /// <summary>--resume with a folder alone: the run's data, epochs and intervals, in the run's folder.</summary>
    [Test]
    public void ResumeContinuesTheRunInItsFolderWithItsOptions()
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--checkpoint-every", "1", "--sample-every", "2", "--max-steps", "7")).Code, Is.EqualTo(0));

        var (code, output, error) = Ilgpugan("train", "--resume", run);

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("at step 7"));
        Assert.That(CheckpointStep(), Is.EqualTo(18), "the run's 3 epochs, not the default 300");
        Assert.That(MetricsSteps(), Is.EqualTo(new long[] { 6, 7, 12, 18 }));
        Assert.That(Directory.GetFiles(Path.Combine(run, "samples")).Select(Path.GetFileName).Order(),
            Is.EqualTo(new[] { "epoch_001.png", "epoch_002.png", "epoch_003.png" }), "the run's --sample-every 2, its first and last epochs");
    }

    [Test]
    public void ScheduleOptionsGivenWithResumeAreHonoured()
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--max-steps", "2")).Code, Is.EqualTo(0));
        var (code, _, error) = Ilgpugan("train", "--resume", Path.Combine(run, RunFolder.CheckpointFile), "--epochs", "1");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(CheckpointStep(), Is.EqualTo(6));
    }

    [TestCase("--lr", "0.001")]
    [TestCase("--batch-size", "16")]
    [TestCase("--z-dim", "10")]
    [TestCase("--recipe", "seed")]
    [TestCase("--beta1", "0.9")]
    [TestCase("--loss", "saturating")]
    [TestCase("--seed", "4")]
    [TestCase("--d-dropout", "0.2")]
    [TestCase("--d-widths", "512,256")]
    [TestCase("--lr-decay-to", "5")]
    public void ModelOptionsGivenWithResumeAreRefused(string option, string value)
    {
        Assert.That(Ilgpugan(Train("--max-steps", "2")).Code, Is.EqualTo(0));
        var (code, _, error) = Ilgpugan("train", "--resume", run, option, value);
        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain(option).And.Contain("a resumed run keeps"));
    }

    [Test]
    public void ResumeElsewhereThanTheRunFolderIsRefused()
    {
        Assert.That(Ilgpugan(Train("--max-steps", "2")).Code, Is.EqualTo(0));
        var (code, _, error) = Ilgpugan("train", "--resume", run, "--out", Folder.File("other"));
        Assert.That(code, Is.EqualTo(UsageException.ExitCode));
        Assert.That(error, Does.Contain("--out").And.Contain("its own folder"));
    }

    /// <summary>
    /// SIGINT or SIGTERM to a real trainer: it finishes the step, writes a checkpoint that the metrics do not run
    /// ahead of, says how to continue and exits as a shell expects; the resume then repeats nothing.
    /// </summary>
    [TestCase("INT", 130)]
    [TestCase("TERM", 143)]
    public void SignalStopsWithACheckpointAndTheResumeCommand(string signal, int exitCode)
    {
        using var child = ChildTrainer.Start(Train("--epochs", "100000", "--checkpoint-every", "1000", "--checkpoint-minutes", "0"));
        child.WaitForLine("epoch 2 step 12/");
        ChildTrainer.Signal(child.Id, signal);
        var (code, output) = child.WaitForExit();

        Assert.That(code, Is.EqualTo(exitCode), output);
        Assert.That(output, Does.Contain($"stopped by SIG{signal}"));
        // The child is the dll run by the dotnet host: the hint runs that dll again.
        var hint = System.Text.RegularExpressions.Regex.Match(output, $@"Continue with: dotnet (\S+) train --resume {System.Text.RegularExpressions.Regex.Escape(run)}\n");
        Assert.That(hint.Success, output);
        Assert.That(Path.GetFullPath(hint.Groups[1].Value), Is.EqualTo(Path.Combine(AppContext.BaseDirectory, "ilgpugan.dll")));
        long step = CheckpointStep();
        Assert.That(output, Does.Contain($"at step {step} "));
        Assert.That(MetricsSteps().Last(), Is.EqualTo(step), "the metrics end at the checkpoint");
        Assert.That(File.ReadAllText(Path.Combine(run, RunFolder.LockFile)), Is.Empty, "the lock is released");

        var (resumed, _, error) = Ilgpugan("train", "--resume", run, "--max-steps", "7");
        Assert.That(resumed, Is.EqualTo(0), error);
        var steps = MetricsSteps();
        Assert.That(steps, Is.Ordered.Ascending.And.Unique);
        Assert.That(steps.Last(), Is.EqualTo(step + 7));
    }

    /// <summary>
    /// kill -9 between checkpoints: the metrics and grids written after the last checkpoint are cut back on resume,
    /// so no epoch repeats; the stale lock and an orphaned temporary file are cleared.
    /// </summary>
    [Test]
    public void ResumeAfterKillRepeatsNothingAndClearsWhatTheKillLeft()
    {
        Assert.That(Ilgpugan(Train("--epochs", "100000", "--checkpoint-every", "3", "--sample-every", "1", "--max-steps", "18")).Code, Is.EqualTo(0));
        // The child writes no checkpoint after step 18, so whatever it writes runs ahead of the checkpoint.
        using (var child = ChildTrainer.Start(["train", "--resume", run, "--checkpoint-every", "1000", "--checkpoint-minutes", "0"]))
        {
            // The epoch line is printed before its metrics row is written: wait for the next epoch's, by which
            // step 30's row is surely on disk.
            child.WaitForLine("epoch 6 step 36/");
            ChildTrainer.Signal(child.Id, "KILL");
            child.WaitForExit();
        }
        var orphan = Path.Combine(run, ".checkpoint.ckpt.999999999.tmp");
        File.WriteAllBytes(orphan, new byte[100]);
        long step = CheckpointStep();
        Assert.That(step, Is.EqualTo(18));
        Assert.That(MetricsSteps().Last(), Is.GreaterThanOrEqualTo(30), "the killed run had written rows past its checkpoint");
        Assert.That(File.Exists(Path.Combine(run, RunFolder.LockFile)), "kill -9 leaves the lock");

        var (code, output, error) = Ilgpugan("train", "--resume", run, "--max-steps", "12");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("taking over the lock").And.Contain("no longer running"));
        Assert.That(File.Exists(orphan), Is.False, "the orphaned temporary file is removed");
        var rows = File.ReadAllLines(Path.Combine(run, "metrics.csv")).Skip(1).Select(l => l.Split(',')).ToList();
        Assert.That(rows.Select(r => long.Parse(r[1])), Is.Ordered.Ascending.And.Unique);
        Assert.That(rows.Select(r => r[0]), Is.Unique, "every epoch once");
        Assert.That(rows.Last()[1], Is.EqualTo((step + 12).ToString()));
        long lastEpoch = (step + 12 - 1) / 6;
        Assert.That(Directory.GetFiles(Path.Combine(run, "samples")).Length, Is.EqualTo(lastEpoch + 1), "a grid per epoch, none ahead");
    }

    /// <summary>A checkpoint by time, though --checkpoint-every would write none: a kill -9 then loses little.</summary>
    [Test]
    public void CheckpointsAreWrittenByTimeToo()
    {
        using (var child = ChildTrainer.Start(Train("--epochs", "100000", "--checkpoint-every", "1000", "--checkpoint-minutes", "0.000001")))
        {
            child.WaitForLine("epoch 3 step 18/");
            ChildTrainer.Signal(child.Id, "KILL");
            child.WaitForExit();
        }
        Assert.That(CheckpointStep(), Is.GreaterThanOrEqualTo(12));
    }

    [Test]
    public void BlankAndTornMetricsLinesAreSkipped()
    {
        Assert.That(Ilgpugan(Train("--epochs", "3", "--max-steps", "6")).Code, Is.EqualTo(0));
        var metrics = Path.Combine(run, "metrics.csv");
        File.AppendAllText(metrics, "\n1,12,0.6");
        var (code, _, error) = Ilgpugan("train", "--resume", run, "--max-steps", "6");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(MetricsSteps(), Is.EqualTo(new long[] { 6, 12 }));
        Assert.That(File.ReadAllLines(metrics).Skip(1), Has.All.Not.Empty.And.All.Matches<string>(l => l.Split(',').Length == MetricsLog.HeaderFor(MnistDataset.Classes).Split(',').Length));
    }

    /// <summary>A live trainer's lock refuses a second one; kill -9 leaves its process id, and the next trainer takes over.</summary>
    [Test]
    public void ALiveWriterKeepsTheFolderAndAStaleLockIsTakenOver()
    {
        var lockFile = Path.Combine(run, RunFolder.LockFile);
        int holder;
        using (var child = ChildTrainer.Start(Train("--epochs", "100000", "--checkpoint-every", "1", "--checkpoint-minutes", "0")))
        {
            // The first epoch's checkpoint is written before the second's line.
            child.WaitForLine("epoch 2 step 12/");
            holder = child.Id;
            var (code, output, error) = Ilgpugan(["train", "--resume", run, "--max-steps", "1"]);
            Assert.That(code, Is.EqualTo(1), output);
            Assert.That(error, Does.Contain("another trainer").And.Contain(lockFile));
            ChildTrainer.Signal(child.Id, "KILL");
            child.WaitForExit();
        }
        Assert.That(File.ReadAllText(lockFile), Is.EqualTo(holder.ToString()), "kill -9 leaves the process id");

        var (resumed, resumedOutput, resumedError) = Ilgpugan(["train", "--resume", run, "--max-steps", "1"]);
        Assert.That(resumed, Is.EqualTo(0), resumedError);
        Assert.That(resumedOutput, Does.Contain($"taking over the lock of process {holder}"));
        Assert.That(File.ReadAllText(lockFile), Is.Empty, "released");
    }

    [Test]
    public void ReadersRefuseWhatIsNotARegularFile()
    {
        var fifo = Folder.File("fifo");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        var zero = Folder.File("zero.ckpt");
        File.CreateSymbolicLink(zero, "/dev/zero");
        foreach (var checkpoint in new[] { fifo, zero })
        {
            var (code, _, error) = Ilgpugan("sample", "--checkpoint", checkpoint, "--accelerator", "cpu");
            Assert.That(code, Is.EqualTo(1));
            Assert.That(error, Does.Contain(checkpoint).And.Contain("not a regular file"));
        }

        var images = Path.Combine(data, "train-images-idx3-ubyte");
        File.Delete(images);
        File.Move(fifo, images);
        var (dataCode, _, dataError) = Ilgpugan(Train("--max-steps", "1"));
        Assert.That(dataCode, Is.EqualTo(1));
        Assert.That(dataError, Does.Contain(images).And.Contain("not a regular file"));

        File.Delete(images);
        Directory.CreateDirectory(images);
        (dataCode, _, dataError) = Ilgpugan(Train("--max-steps", "1"));
        Assert.That(dataCode, Is.EqualTo(1));
        Assert.That(dataError, Does.Contain(images).And.Contain("a folder where"));
    }

    [TestCase("step", "step -5 is negative")]
    [TestCase("batch", "batch size 0 is less than 2")]
    public void CheckpointHeaderFieldsAreValidated(string field, string problem)
    {
        Assert.That(Ilgpugan(Train("--max-steps", "1")).Code, Is.EqualTo(0));
        var path = Path.Combine(run, RunFolder.CheckpointFile);
        var contents = Checkpoint.Read(path);
        var header = field == "step"
            ? contents.Header with { Step = -5 }
            : contents.Header with { Config = contents.Header.Config with { BatchSize = 0 } };
        TensorFile.Write(path, "IGGANCK1", Checkpoint.Version, header, contents.Tensors.Select(t => (t.Key, t.Value)).ToList());

        var (code, _, error) = Ilgpugan("train", "--resume", run);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(path).And.Contain(problem));
    }

    [Test]
    public void MisleadingMessagesSayWhatIsWrong()
    {
        var file = Folder.File("a-file");
        File.WriteAllText(file, "");
        var (code, output, error) = Ilgpugan(["train", "--data", file, "--out", run, "--accelerator", "cpu"]);
        Assert.That(code, Is.EqualTo(2), error);
        Assert.That(error, Does.Contain("--data").And.Contain("is a file"));
        Assert.That(output, Does.Not.Contain("npm"));

        (code, _, error) = Ilgpugan(["train", "--data", data, "--out", file, "--accelerator", "cpu"]);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--out").And.Contain("is a file"));

        var gzip = Path.Combine(data, "train-images-idx3-ubyte");
        File.Move(gzip, gzip + ".gz");
        File.WriteAllBytes(gzip + ".gz", [0x1F, 0x8B, 8, 0, .. new byte[40]]);
        (code, _, error) = Ilgpugan(Train("--max-steps", "1", "--overwrite"));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(gzip + ".gz").And.Contain("corrupt gzip"));

        (code, _, error) = Ilgpugan(Train("--lr", "1e-400"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--lr").And.Contain("taken as 0"));
        (code, _, error) = Ilgpugan(Train("--lr", "1e-50"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--lr").And.Contain("too small for a float"));
    }

    /// <summary>A long run's ETA counts hours past a day; a bar that an epoch line replaces is wiped first.</summary>
    [Test]
    public void ProgressShowsLongEtasAndClearsTheBar()
    {
        var output = new StringWriter();
        var progress = new ProgressReporter(output, terminal: true, stepsPerEpoch: 1000, firstStep: 0, lastStep: 100_000_000);
        progress.Compiled(1);
        Thread.Sleep(50);
        progress.Progress(2, new TrainingStatistics());
        progress.EpochEnd(1, 3, new TrainingStatistics(), 1);
        var text = output.ToString();
        var eta = text[(text.IndexOf("ETA ", StringComparison.Ordinal) + 4)..].Split(' ')[0];
        Assert.That(int.Parse(eta.Split(':')[0]), Is.GreaterThan(24), $"ETA {eta}");
        var lastLine = text[(text.LastIndexOf('\r') + 1)..];
        Assert.That(lastLine, Does.StartWith("epoch 1 step 3/"));
        var wipe = text[..(text.LastIndexOf('\r'))];
        Assert.That(wipe[(wipe.LastIndexOf('\r') + 1)..].Trim(), Is.Empty, "the bar is overwritten with spaces");
    }
}

using System.Diagnostics;
using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Model;


namespace IlgpuGan.Trainer;

/// <summary>Training stopped because the losses went NaN or infinite.</summary>
public sealed class DivergedException(string message) : Exception(message);

/// <summary>
/// The training loop: the reference's schedule (epochs of shuffled, drop_last batches), sample grids of one fixed
/// z, metrics, checkpoints, and progress. The host enqueues steps and reads the device's running sums only
/// when it reports progress. Ctrl-C or SIGTERM ends the run after the step under way, with a checkpoint.
/// </summary>
public sealed class TrainingRun(TrainOptions requested, TextWriter output, bool terminal)
{
    const int GridSamples = 64;

    TrainOptions options = requested;
    /// <summary>The step of the checkpoint in the run folder, null while there is none.</summary>
    long? checkpointStep;

    /// <summary>Trains; returns the exit code: 0 when the run ends, a signal's when one stopped it.</summary>
    public int Run()
    {
        // Checked before the run folder is made, so that a refused start leaves nothing behind.
        string? sourcePath = options.Resume is null && options.From is { } from ? RunFolder.CheckpointOf(from) : null;
        var source = sourcePath is null ? null : Checkpoint.Read(sourcePath);
        if (source?.Header.Config.ArchitectureDifference(options.Model) is { } difference)
            throw new UsageException($"--from: {sourcePath} cannot start this run: {difference}");
        using var folder = RunFolder.Open(options.OutDir, output);
        var resumed = options.Resume is { } resumePath ? Checkpoint.Read(resumePath) : null;
        if (resumed is not null)
        {
            options = options.Continuing(SavedOptions(resumed, options.Resume!) ?? options);
            if (options.Invalid() is { } problem) throw new CheckpointException($"{options.Resume}: its run options are unusable: {problem}");
        }
        else if (folder.HoldsRun && !options.Overwrite)
            throw new UsageException($"{options.OutDir} already holds a run: --resume {options.OutDir} continues it, " +
                "--overwrite clears it and starts again");
        var config = resumed?.Header.Config ?? options.Model;
        var mnist = LoadMnist(resumed is not null);
        var fingerprint = TrainCommand.DataFingerprint(mnist.Train.Images, config.ImagePixels);
        if (options.DataFingerprint is { } trained && trained != fingerprint)
            throw new DataFormatException(options.DataDir, $"its training images ({fingerprint}) are not those the run trained on " +
                $"({trained}); give --data the folder of the run's own");
        options = options with { DataFingerprint = fingerprint };
        int images = mnist.Train.Images.Length / config.ImagePixels;
        if (images < config.BatchSize)
            throw new ArgumentException($"--batch-size: {config.BatchSize} is more than the {images} training images");

        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        using var gan = new Gan(kernels, config);
        using var finite = new FiniteState(kernels, gan);
        using var data = new DeviceDataset(kernels, TrainingImages(mnist.Train), config.ImagePixels);
        using var evaluation = options.EvalEvery > 0 ? new TrainingEvaluation(kernels, mnist, options.EvalSamples) : null;
        int stepsPerEpoch = data.StepsPerEpoch(config.BatchSize);
        // Cleared only now that the data, the device and the sizes are known to do: a refused start loses nothing.
        if (resumed is null && folder.HoldsRun) folder.Clear();

        // Before the resume's cut-back redraws report.html, which reads it: what was there is replaced, not trusted.
        JsonFile.Write(folder.Config, new { options, model = config, device = $"{device.Kind} {device.Name}" });
        long step = 0;
        if (resumed is not null)
        {
            step = Checkpoint.Restore(resumed, gan, options.Resume!);
            checkpointStep = step;
            folder.CutBackTo(step, stepsPerEpoch);
            output.WriteLine($"resumed from {options.Resume} at step {step} (epoch {step / stepsPerEpoch + 1} next)");
        }
        else if (source is not null)
        {
            step = Checkpoint.Restore(source, gan, sourcePath!);
            output.WriteLine($"started from {sourcePath} at step {step} (epoch {step / stepsPerEpoch + 1} next)");
        }
        else Initialization.LikePyTorch(gan);

        using var samples = new SampleGrid(kernels, gan, Math.Min(GridSamples, config.BatchSize));
        var metrics = new MetricsLog(folder.Metrics);

        long lastStep = (long)options.Epochs * stepsPerEpoch;
        if (options.MaxSteps is { } maxSteps) lastStep = Math.Min(lastStep, step + maxSteps);
        var schedule = new RunSchedule(stepsPerEpoch, lastStep, options.SampleEvery, options.CheckpointEvery, options.EvalEvery, options.KeepEvery);
        if (options.KeepEvery > 0 || evaluation is not null) Directory.CreateDirectory(folder.Snapshots);
        evaluation?.WriteCeiling(folder.EvalCeiling, output);
        // A resumed run's best so far is in the rows metrics.csv already holds.
        var rows = MetricsTable.Read(metrics.Path);
        double bestFrechet = double.PositiveInfinity, bestStep = -1;
        foreach (var (frechet, at) in rows.Column("frechet").Zip(rows.Column("step")))
            if (frechet < bestFrechet) (bestFrechet, bestStep) = (frechet, at);
        if (resumed is not null)
        {
            // What a kill between the checkpoint and its copies left undone: the checkpoint's step promises them.
            if (options.KeepEvery > 0 && step > 0 && (step % stepsPerEpoch != 0 || schedule.Keeps(step)))
                RestoreCopy(folder, folder.Snapshot(metrics.Number(schedule.Epoch(step))), step);
            if (evaluation is not null && bestStep == step)
                RestoreCopy(folder, folder.BestCheckpoint, step);
        }
        var progress = new ProgressReporter(output, terminal, stepsPerEpoch, step, lastStep);
        var epochSums = new TrainingStatistics();
        long epochStartStep = step, startStep = step;
        var sinceCheckpoint = Stopwatch.StartNew();
        using var signals = new StopSignals();

        while (step < lastStep)
        {
            gan.TrainStep(data, step);
            step++;
            if (step == startStep + 1) progress.Compiled(step);
            // A stop at the run's last step is its ordinary end.
            var stop = step < lastStep ? signals.Requested : null;
            bool epochEnd = schedule.EndsEpoch(step) || stop is not null;
            if (!epochEnd && !progress.Due) continue;

            epochSums += TakeStatistics(gan, step, folder);
            if (!epochEnd)
            {
                progress.Progress(step, epochSums, step - epochStartStep);
                continue;
            }

            // Checked before anything of the epoch is saved, so that the last checkpoint is a finite one.
            if (finite.FirstNonFinite() is { } tensor) throw Diverged(step, tensor, folder);
            long epoch = schedule.Epoch(step), stepsInEpoch = step - epochStartStep;
            var means = epochSums.MeanOver(stepsInEpoch);
            double seconds = progress.EpochSeconds;
            progress.EpochEnd(epoch, step, means, seconds);
            var quality = stop is null && schedule.Evaluates(step) ? evaluation!.Measure(gan, output) : null;
            metrics.Append(epoch, step, means, seconds, stepsInEpoch * config.BatchSize / seconds, quality);
            if (stop is null && schedule.Samples(step))
                samples.Save(folder.Grid(metrics.Number(epoch)), folder.ProgressGif);
            bool checkpointDue = options.CheckpointMinutes > 0 && sinceCheckpoint.Elapsed.TotalMinutes >= options.CheckpointMinutes;
            // A snapshot comes with every checkpoint that ends no epoch (a stop's, the run's last), as the run's end does.
            bool keeps = schedule.Keeps(step) || stop is not null && options.KeepEvery > 0 && step % stepsPerEpoch != 0;
            bool best = quality is not null && quality.Frechet < bestFrechet;
            // The copies follow their checkpoint, so that a resume from it can make any a kill prevented.
            if (stop is not null || schedule.Checkpoints(step) || checkpointDue || keeps || best)
            {
                Checkpoint.Save(folder.Checkpoint, gan, step, JsonSerializer.SerializeToElement(options));
                checkpointStep = step;
                sinceCheckpoint.Restart();
            }
            if (keeps) folder.CopyCheckpointTo(folder.Snapshot(metrics.Number(epoch)), step);
            if (best)
            {
                bestFrechet = quality!.Frechet;
                folder.CopyCheckpointTo(folder.BestCheckpoint, step);
            }
            RunReport.Write(folder.Path);
            if (stop is { } signal)
            {
                output.WriteLine($"stopped by {signal} at step {step} (epoch {epoch + 1}); the checkpoint of step {step} is written. " +
                    $"Continue with: {Invocation.Command("train", "--resume", options.OutDir)}");
                return StopSignals.ExitCode(signal);
            }

            epochSums = new TrainingStatistics();
            epochStartStep = step;
            progress.StartEpoch();
        }
        progress.Done(step, options.OutDir);
        return 0;
    }

    /// <summary>The options a checkpoint's run was trained with; null in a checkpoint that has none.</summary>
    static TrainOptions? SavedOptions(Checkpoint.Contents checkpoint, string path)
    {
        try { return checkpoint.Header.RunOptions?.Deserialize<TrainOptions>(); }
        catch (JsonException e) { throw new CheckpointException($"{path}: unreadable run options ({e.Message})"); }
    }

    /// <summary>
    /// The data set, fetched into a folder that holds nothing yet, so that a mistyped path is reported, not filled;
    /// a resumed run fetches only into a folder given on its command line, never into one its checkpoint names.
    /// </summary>
    MnistDataset LoadMnist(bool resuming)
    {
        var folder = options.DataDir;
        if (File.Exists(folder))
            throw new UsageException($"--data: {folder} is a file; give the folder that holds the four MNIST IDX files");
        if (!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any())
        {
            if (resuming && !options.Given.Contains("data"))
                throw new DirectoryNotFoundException($"{folder}: the run's data folder is missing or empty; give --data the folder of the images it trained on");
            MnistDownload.EnsurePresent(folder, output);
        }
        return MnistDataset.Load(folder);
    }

    void RestoreCopy(RunFolder folder, string path, long step)
    {
        if (folder.CopyCheckpointTo(path, step)) output.WriteLine($"restored {path} from the checkpoint of step {step}, which a stop had left unwritten");
    }

    static float[] TrainingImages(MnistSplit train)
    {
        var floats = new float[train.Images.Length];
        MnistDataset.PixelsToFloats(train.Images, floats);
        return floats;
    }

    /// <summary>The device's sums since the last take; stops the run when a loss is no longer finite.</summary>
    TrainingStatistics TakeStatistics(Gan gan, long step, RunFolder folder)
    {
        var sums = TrainingStatistics.Take(gan);
        foreach (var (loss, name) in new[] { (sums.DiscriminatorLoss, "discriminator"), (sums.GeneratorLoss, "generator") })
            if (!float.IsFinite(loss)) throw Diverged(step, $"the {name} loss is {loss}", folder);
        return sums;
    }

    DivergedException Diverged(long step, string problem, RunFolder folder) =>
        new($"training stopped by step {step}: {problem}; " + (checkpointStep is { } kept
            ? $"the checkpoint of step {kept} in {folder.Path} is kept"
            : "no checkpoint had been written yet"));
}

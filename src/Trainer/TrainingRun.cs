using System.Diagnostics;
using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Trainer.Report;

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
        if (resumed is not null) options = options.Continuing(SavedOptions(resumed, options.Resume!) ?? options);
        else if (folder.HoldsRun)
        {
            if (!options.Overwrite)
                throw new UsageException($"{options.OutDir} already holds a run: --resume {options.OutDir} continues it, " +
                    "--overwrite clears it and starts again");
            folder.Clear();
        }
        var config = resumed?.Header.Config ?? options.Model;
        var mnist = LoadMnist();

        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        using var gan = new Gan(kernels, config);
        using var data = new DeviceDataset(kernels, TrainingImages(mnist.Train), config.ImagePixels);
        using var evaluation = options.EvalEvery > 0 ? new TrainingEvaluation(kernels, mnist, options.EvalSamples) : null;
        int stepsPerEpoch = data.StepsPerEpoch(config.BatchSize);
        if (stepsPerEpoch < 1)
            throw new ArgumentException($"--batch-size: {config.BatchSize} is more than the {data.Count} training images");

        long step = 0;
        if (resumed is not null)
        {
            step = Checkpoint.Restore(resumed, gan, options.Resume!);
            checkpointStep = step;
            folder.CutBackTo(step, stepsPerEpoch);
            output.WriteLine($"resumed from {options.Resume} at step {step} (epoch {step / stepsPerEpoch})");
        }
        else if (source is not null)
        {
            step = Checkpoint.Restore(source, gan, sourcePath!);
            output.WriteLine($"started from {sourcePath} at step {step} (epoch {step / stepsPerEpoch})");
        }
        else Initialization.LikePyTorch(gan);

        JsonFile.Write(folder.Config, new { options, model = config, device = $"{device.Kind} {device.Name}" });
        using var samples = new SampleGrid(kernels, gan, Math.Min(GridSamples, config.BatchSize));
        var metrics = new MetricsLog(folder.Metrics);

        long lastStep = (long)options.Epochs * stepsPerEpoch;
        if (options.MaxSteps is { } maxSteps) lastStep = Math.Min(lastStep, step + maxSteps);
        var schedule = new RunSchedule(stepsPerEpoch, lastStep, options.SampleEvery, options.CheckpointEvery, options.EvalEvery, options.KeepEvery);
        if (options.KeepEvery > 0 || evaluation is not null) Directory.CreateDirectory(folder.Snapshots);
        evaluation?.WriteCeiling(folder.EvalCeiling, output);
        // A resumed run's best so far is in the rows metrics.csv already holds.
        double bestFrechet = MetricsTable.Read(metrics.Path).Column("frechet").Where(double.IsFinite).DefaultIfEmpty(double.PositiveInfinity).Min();
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

            long epoch = schedule.Epoch(step), stepsInEpoch = step - epochStartStep;
            var means = epochSums.MeanOver(stepsInEpoch);
            double seconds = progress.EpochSeconds;
            progress.EpochEnd(epoch, step, means, seconds);
            var quality = stop is null && schedule.Evaluates(step) ? evaluation!.Measure(gan, output) : null;
            metrics.Append(epoch, step, means, seconds, stepsInEpoch * config.BatchSize / seconds, quality);
            if (stop is null && schedule.Samples(step))
                samples.Save(Path.Combine(folder.Samples, $"epoch_{epoch:000}.png"), folder.ProgressGif);
            var runOptions = JsonSerializer.SerializeToElement(options);
            bool checkpointDue = options.CheckpointMinutes > 0 && sinceCheckpoint.Elapsed.TotalMinutes >= options.CheckpointMinutes;
            if (stop is not null || schedule.Checkpoints(step) || checkpointDue)
            {
                Checkpoint.Save(folder.Checkpoint, gan, step, runOptions);
                checkpointStep = step;
                sinceCheckpoint.Restart();
            }
            if (schedule.Keeps(step)) Checkpoint.Save(folder.Snapshot(epoch), gan, step, runOptions);
            if (quality is not null && quality.Frechet < bestFrechet)
            {
                bestFrechet = quality.Frechet;
                Checkpoint.Save(folder.BestCheckpoint, gan, step, runOptions);
            }
            RunReport.Write(folder.Path);
            if (stop is { } signal)
            {
                output.WriteLine($"stopped by {signal} at step {step} (epoch {epoch}); the checkpoint of step {step} is written. " +
                    $"Continue with: {CommandLine.ProgramName} train --resume {options.OutDir}");
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

    MnistDataset LoadMnist()
    {
        var folder = options.DataDir;
        if (File.Exists(folder))
            throw new UsageException($"--data: {folder} is a file; give the folder that holds the four MNIST IDX files");
        // Fetch only into a folder that holds nothing yet, so a mistyped path is reported, not filled.
        if (!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any())
            MnistDownload.EnsurePresent(folder, output);
        return MnistDataset.Load(folder);
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
            if (!float.IsFinite(loss))
                throw new DivergedException($"training stopped by step {step}: the {name} loss is {loss}; " + (checkpointStep is { } kept
                    ? $"the checkpoint of step {kept} in {folder.Path} is kept"
                    : "no checkpoint had been written yet"));
        return sums;
    }
}

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
/// when it reports progress.
/// </summary>
public sealed class TrainingRun(TrainOptions options, TextWriter output, bool terminal)
{
    public const string CheckpointFile = "checkpoint.ckpt";
    /// <summary>Where --keep-every's snapshots and --eval-every's best checkpoint go, inside the run folder.</summary>
    public const string SnapshotFolder = "checkpoints", BestCheckpointFile = "best.ckpt";

    /// <summary>The checkpoint a command was pointed at: a checkpoint file, or a run folder's <see cref="CheckpointFile"/>.</summary>
    public static string CheckpointOf(string checkpointOrRunFolder) =>
        Directory.Exists(checkpointOrRunFolder) ? Path.Combine(checkpointOrRunFolder, CheckpointFile) : checkpointOrRunFolder;
    const int GridSamples = 64;

    public void Run()
    {
        var resumed = options.Resume is { } resumePath ? Checkpoint.Read(resumePath) : null;
        // A resumed run continues the checkpoint's model; the command line's model options apply to new runs only.
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
            output.WriteLine($"resumed from {options.Resume} at step {step} (epoch {step / stepsPerEpoch})");
        }
        else Initialization.LikePyTorch(gan);

        Directory.CreateDirectory(Path.Combine(options.OutDir, "samples"));
        JsonFile.Write(Path.Combine(options.OutDir, "config.json"), new { options, model = config });
        using var samples = new SampleGrid(kernels, gan, Math.Min(GridSamples, config.BatchSize));
        var metrics = new MetricsLog(Path.Combine(options.OutDir, "metrics.csv"));

        long lastStep = (long)options.Epochs * stepsPerEpoch;
        if (options.MaxSteps is { } maxSteps) lastStep = Math.Min(lastStep, step + maxSteps);
        var schedule = new RunSchedule(stepsPerEpoch, lastStep, options.SampleEvery, options.CheckpointEvery, options.EvalEvery, options.KeepEvery);
        var snapshots = Path.Combine(options.OutDir, SnapshotFolder);
        if (options.KeepEvery > 0 || evaluation is not null) Directory.CreateDirectory(snapshots);
        evaluation?.WriteCeiling(Path.Combine(options.OutDir, RunReport.CeilingFile), output);
        // A resumed run's best so far is in the rows metrics.csv already holds.
        double bestFrechet = MetricsTable.Read(metrics.Path).Column("frechet").Where(double.IsFinite).DefaultIfEmpty(double.PositiveInfinity).Min();
        var progress = new ProgressReporter(output, terminal, stepsPerEpoch, step, lastStep);
        var epochSums = new TrainingStatistics();
        long epochStartStep = step;

        while (step < lastStep)
        {
            gan.TrainStep(data, step);
            step++;
            bool epochEnd = schedule.EndsEpoch(step);
            if (!epochEnd && !progress.Due) continue;

            epochSums += TakeStatistics(gan, step);
            if (!epochEnd)
            {
                progress.Progress(step, epochSums, step - epochStartStep);
                continue;
            }

            long epoch = schedule.Epoch(step), stepsInEpoch = step - epochStartStep;
            var means = epochSums.MeanOver(stepsInEpoch);
            double seconds = progress.EpochSeconds;
            progress.EpochEnd(epoch, step, means, seconds);
            var quality = schedule.Evaluates(step) ? evaluation!.Measure(gan, output) : null;
            metrics.Append(epoch, step, means, seconds, stepsInEpoch * config.BatchSize / seconds, quality);
            if (schedule.Samples(step))
                samples.Save(Path.Combine(options.OutDir, "samples", $"epoch_{epoch:000}.png"), options.OutDir);
            var runOptions = JsonSerializer.SerializeToElement(options);
            if (schedule.Checkpoints(step)) Checkpoint.Save(Path.Combine(options.OutDir, CheckpointFile), gan, step, runOptions);
            if (schedule.Keeps(step)) Checkpoint.Save(Path.Combine(snapshots, $"epoch_{epoch:000}.ckpt"), gan, step, runOptions);
            if (quality is not null && quality.Frechet < bestFrechet)
            {
                bestFrechet = quality.Frechet;
                Checkpoint.Save(Path.Combine(snapshots, BestCheckpointFile), gan, step, runOptions);
            }
            RunReport.Write(options.OutDir);

            epochSums = new TrainingStatistics();
            epochStartStep = step;
            progress.StartEpoch();
        }
        progress.Done(step, options.OutDir);
    }

    MnistDataset LoadMnist()
    {
        var folder = options.DataDir;
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
    static TrainingStatistics TakeStatistics(Gan gan, long step)
    {
        var sums = TrainingStatistics.Take(gan);
        foreach (var (loss, name) in new[] { (sums.DiscriminatorLoss, "discriminator"), (sums.GeneratorLoss, "generator") })
            if (!float.IsFinite(loss))
                throw new DivergedException(
                    $"training stopped by step {step}: the {name} loss is {loss}; the last checkpoint written is kept");
        return sums;
    }
}

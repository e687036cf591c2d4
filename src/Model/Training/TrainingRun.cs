using System.Diagnostics;
using System.Text.Json;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Training;

/// <summary>
/// The training loop: the reference's schedule (epochs of shuffled, drop_last batches), sample grids of one fixed
/// z, metrics, checkpoints, and progress. The host enqueues steps and reads the device's running sums only
/// when it reports progress. Cancelling ends the run after the step under way, with a checkpoint.
/// <code>
/// var result = TrainingRun.Run(TrainingSettings.For(Recipe.Stable) with { Epochs = 5 },
///     new Progress&lt;TrainingProgress&gt;(p => Console.WriteLine($"{p.Step}/{p.TotalSteps} d_loss {p.DiscriminatorLoss}")), token);
/// </code>
/// </summary>
public sealed class TrainingRun
{
    const int GridSamples = 64;

    TrainingSettings settings;
    readonly IProgress<TrainingProgress>? progress;
    readonly CancellationToken cancellation;
    readonly TextWriter log;
    /// <summary>The step of the checkpoint in the run folder, null while there is none.</summary>
    long? checkpointStep;

    TrainingRun(TrainingSettings settings, IProgress<TrainingProgress>? progress, CancellationToken cancellation, TextWriter log)
    {
        this.settings = settings;
        this.progress = progress;
        this.cancellation = cancellation;
        this.log = log;
    }

    /// <summary>
    /// Trains as <paramref name="settings"/> say, in their run folder. <paramref name="progress"/> hears of the run's
    /// start, of its steps now and then, and of each epoch's end; <paramref name="log"/> gets the lines of what
    /// else happens (the device, a resume, a download, quality measures). A cancellation ends the run after the step
    /// under way, with that step's checkpoint written; one before the first step throws
    /// <see cref="OperationCanceledException"/> with nothing changed.
    /// </summary>
    /// <exception cref="InvalidSettingsException">Settings no run can have, or a run folder they cannot use.</exception>
    /// <exception cref="IlgpuGanException">A data set, checkpoint or download at fault, or a run that diverged.</exception>
    public static TrainingResult Run(TrainingSettings settings, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellation = default, TextWriter? log = null)
    {
        if (settings.Problem() is { } problem) throw new InvalidSettingsException(null, problem);
        return new TrainingRun(settings, progress, cancellation, log ?? TextWriter.Null).Train();
    }

    TrainingResult Train()
    {
        // Checked before the run folder is made, so that a refused start leaves nothing behind.
        var source = StartingCheckpoint();
        using var folder = RunFolder.Open(settings.OutDir, log);
        var resumed = ResumedCheckpoint(folder);
        var dataset = LoadData(resumed is not null);
        var config = resumed?.Contents.Header.Config ?? settings.Model with { Image = dataset.Shape };
        CheckData(dataset, config, source);
        cancellation.ThrowIfCancellationRequested();

        using var device = ComputeDevice.Create(settings.Accelerator);
        log.WriteLine($"device: {device.Kind} {device.Name}");
        log.WriteLine($"data: {dataset.Train.Count} images of {dataset.Shape} ({dataset.Format}) from {settings.DataDir}");
        var kernels = new KernelSet(device);
        using var gan = new Gan(kernels, config);
        using var finite = new FiniteState(kernels, gan);
        using var data = new DeviceDataset(kernels, TrainingImages(dataset.Train), config.ImagePixels);
        var measured = MeasuredData.Of(dataset);
        using var evaluation = settings.EvalEvery > 0
            ? new TrainingEvaluation(kernels, measured, settings.Classifier ?? Evaluation.DefaultClassifierPath, settings.EvalSamples, log)
            : null;
        int stepsPerEpoch = data.StepsPerEpoch(config.BatchSize);
        // Cleared only now that the data, the device and the sizes are known to do: a refused start loses nothing.
        if (resumed is null && folder.HoldsRun) folder.Clear();

        // Before the resume's cut-back redraws report.html, which reads it: what was there is replaced, not trusted.
        AtomicFile.WriteAllText(folder.Config, JsonSerializer.Serialize(
            new { options = settings, model = config, device = $"{device.Kind} {device.Name}" }, TrainingSettings.Json));
        long step = Restore(gan, folder, resumed, source, stepsPerEpoch, measured.Classes);

        long lastStep = (long)settings.Epochs * stepsPerEpoch;
        if (settings.MaxSteps is { } maxSteps) lastStep = Math.Min(lastStep, step + maxSteps);
        var schedule = new RunSchedule(stepsPerEpoch, lastStep, settings.SampleEvery, settings.CheckpointEvery, settings.EvalEvery, settings.KeepEvery);
        if (settings.KeepEvery > 0 || evaluation is not null) Directory.CreateDirectory(folder.Snapshots);
        evaluation?.WriteCeiling(folder.EvalCeiling, log);
        var best = BestFrechet.SoFar(folder.Metrics);
        var metrics = new MetricsLog(folder.Metrics, measured.Classes);
        if (resumed is not null) RestoreCopies(folder, schedule, metrics, step, best, evaluation is not null);

        using var samples = new SampleGrid(kernels, gan, Math.Min(GridSamples, config.BatchSize));
        var epochEnd = new EpochEnd(this, gan, folder, schedule, evaluation, samples, metrics, best);
        return Loop(gan, finite, data, folder, schedule, epochEnd, step);
    }

    /// <summary>The checkpoint of another run that a new one starts from, checked against the model to train; null for none.</summary>
    (Checkpoint.Contents Contents, string Path)? StartingCheckpoint()
    {
        if (settings.Resume is not null || settings.From is not { } from) return null;
        string path = RunFolder.CheckpointOf(from);
        var source = Checkpoint.Read(path);
        // The images' shape is the data's, known once it is read (CheckData).
        if (source.Header.Config.ArchitectureDifference(settings.Model with { Image = source.Header.Config.Image }) is { } difference)
            throw new InvalidSettingsException(Knobs.From.Name, $"{path} cannot start this run: {difference}");
        return (source, path);
    }

    /// <summary>
    /// The checkpoint a resumed run continues, whose saved settings then take over (<see cref="TrainingSettings.Continuing"/>);
    /// null for a new run, which may replace a run in the folder only when told to.
    /// </summary>
    (Checkpoint.Contents Contents, string Path)? ResumedCheckpoint(RunFolder folder)
    {
        if (settings.Resume is not { } path)
        {
            if (folder.HoldsRun && !settings.Overwrite)
                throw new InvalidSettingsException(null, $"{settings.OutDir} already holds a run: --resume {settings.OutDir} continues it, " +
                    "--overwrite clears it and starts again");
            return null;
        }
        var resumed = Checkpoint.Read(path);
        settings = settings.Continuing(SavedSettings(resumed, path) ?? settings);
        if (settings.Problem() is { } problem) throw new CheckpointException($"{path}: its run options are unusable: {problem}");
        return (resumed, path);
    }

    /// <summary>The settings a checkpoint's run was trained with; null in a checkpoint that has none.</summary>
    static TrainingSettings? SavedSettings(Checkpoint.Contents checkpoint, string path)
    {
        try { return TrainingSettings.Saved(checkpoint.Header.RunOptions); }
        catch (JsonException e) { throw new CheckpointException($"{path}: unreadable run options ({e.Message})"); }
    }

    /// <summary>
    /// The training data, refused when its images are not the run's shape, not those a resumed run trained on, or too
    /// few for a batch.
    /// </summary>
    void CheckData(ImageDataset dataset, GanConfig config, (Checkpoint.Contents Contents, string Path)? source)
    {
        if (config.Image != dataset.Shape)
            throw new DataFormatException(settings.DataDir, $"its images are {dataset.Shape}, the run's are {config.Image}; give --data the folder of the run's own");
        if (source is var (start, startPath) && start.Header.Config.Image != dataset.Shape)
            throw new InvalidSettingsException(Knobs.From.Name, $"{startPath} cannot start this run: images are {start.Header.Config.Image}, not {dataset.Shape}");
        if (config.Problem() is { } sizeProblem) throw new DataFormatException(settings.DataDir, sizeProblem);
        var fingerprint = DataFingerprint(dataset.Train.Images, config.ImagePixels);
        if (settings.DataFingerprint is { } trained && trained != fingerprint)
            throw new DataFormatException(settings.DataDir, $"its training images ({fingerprint}) are not those the run trained on " +
                $"({trained}); give --data the folder of the run's own");
        settings = settings with { DataFingerprint = fingerprint };
        if (dataset.Train.Count < config.BatchSize)
            throw new DataFormatException(settings.DataDir, $"its {dataset.Train.Count} training images are fewer than one batch (--batch-size {config.BatchSize})");
    }

    /// <summary>
    /// What the run trains on, as its settings record it: the training images' count and the start of their
    /// SHA-256, enough to tell another data set or an edited one.
    /// </summary>
    public static string DataFingerprint(byte[] trainingImages, int imagePixels) =>
        $"{trainingImages.Length / imagePixels} images, SHA-256 {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(trainingImages))[..16]}";

    /// <summary>
    /// The data set. Only the default folder is fetched into (MNIST) when it does not exist, so that a mistyped path is
    /// reported, not filled; a resumed run fetches only into a folder given on its command line, never into one its
    /// checkpoint names.
    /// </summary>
    ImageDataset LoadData(bool resuming)
    {
        var folder = settings.DataDir;
        if (File.Exists(folder))
            throw new InvalidSettingsException(Knobs.Data.Name, $"{folder} is a file; give the folder that holds the data set");
        if (!Directory.Exists(folder) || !Directory.EnumerateFileSystemEntries(folder).Any())
        {
            if (resuming && !settings.Given.Contains(Knobs.Data.Name))
                throw new DirectoryNotFoundException($"{folder}: the run's data folder is missing or empty; give --data the folder of the images it trained on");
            if (Path.GetFullPath(folder) != Path.GetFullPath(TrainingSettings.DefaultDataDir))
                throw new DirectoryNotFoundException($"--data: {folder} is {(Directory.Exists(folder) ? "an empty folder" : "no folder")}; " +
                    $"only the default, {TrainingSettings.DefaultDataDir}, is fetched (MNIST) when missing");
            MnistDownload.EnsurePresent(folder, log);
        }
        return ImageDataset.Open(folder, settings.ImageFolder, log);
    }

    /// <summary>The networks' state to start from: the resumed checkpoint's, the starting one's, or PyTorch's initialisation. Returns the step.</summary>
    long Restore(Gan gan, RunFolder folder, (Checkpoint.Contents Contents, string Path)? resumed,
        (Checkpoint.Contents Contents, string Path)? source, int stepsPerEpoch, int classes)
    {
        if (resumed is var (checkpoint, path))
        {
            long step = Checkpoint.Restore(checkpoint, gan, path);
            checkpointStep = step;
            folder.CutBackTo(step, stepsPerEpoch, classes);
            log.WriteLine($"resumed from {path} at step {step} (epoch {step / stepsPerEpoch + 1} next)");
            return step;
        }
        if (source is var (start, startPath))
        {
            long step = Checkpoint.Restore(start, gan, startPath);
            log.WriteLine($"started from {startPath} at step {step} (epoch {step / stepsPerEpoch + 1} next)");
            return step;
        }
        Initialization.LikePyTorch(gan);
        return 0;
    }

    /// <summary>What a kill between the checkpoint and its copies left undone: the checkpoint's step promises them.</summary>
    void RestoreCopies(RunFolder folder, RunSchedule schedule, MetricsLog metrics, long step, BestFrechet best, bool evaluates)
    {
        if (settings.KeepEvery > 0 && step > 0 && (step % schedule.StepsPerEpoch != 0 || schedule.Keeps(step)))
            RestoreCopy(folder, folder.Snapshot(metrics.Number(schedule.Epoch(step))), step);
        if (evaluates && best.Step == step)
            RestoreCopy(folder, folder.BestCheckpoint, step);
    }

    void RestoreCopy(RunFolder folder, string path, long step)
    {
        if (folder.CopyCheckpointTo(path, step)) log.WriteLine($"restored {path} from the checkpoint of step {step}, which a stop had left unwritten");
    }

    /// <summary>
    /// Steps until the last, reading the device's sums only for a progress report or an epoch's end. A cancellation
    /// ends the epoch at the step under way; at the run's last step it is the run's ordinary end.
    /// </summary>
    TrainingResult Loop(Gan gan, FiniteState finite, DeviceDataset data, RunFolder folder, RunSchedule schedule, EpochEnd epochEnd, long step)
    {
        long lastStep = schedule.LastStep, startStep = step, epochStartStep = step;
        var epochSums = new TrainingStatistics();
        var sinceReport = Stopwatch.StartNew();
        var epochClock = Stopwatch.StartNew();
        Report(TrainingProgressKind.Started, step, schedule, new TrainingStatistics(), 0);
        while (step < lastStep)
        {
            gan.TrainStep(data, step);
            step++;
            bool cancelled = step < lastStep && cancellation.IsCancellationRequested;
            bool endsEpoch = schedule.EndsEpoch(step) || cancelled;
            if (!endsEpoch && step != startStep + 1 && sinceReport.Elapsed < settings.ProgressInterval) continue;

            epochSums += TakeStatistics(gan, step, folder);
            sinceReport.Restart();
            var means = epochSums.MeanOver(step - epochStartStep);
            if (!endsEpoch)
            {
                Report(TrainingProgressKind.Step, step, schedule, means, epochClock.Elapsed.TotalSeconds);
                continue;
            }
            // Checked before anything of the epoch is saved, so that the last checkpoint is a finite one.
            if (finite.FirstNonFinite() is { } tensor) throw Diverged(step, tensor, folder);
            epochEnd.Write(step, step - epochStartStep, means, epochClock.Elapsed.TotalSeconds, cancelled);
            if (cancelled) return new TrainingResult(step, schedule.Epoch(step) + 1, Cancelled: true, folder.Path);

            epochSums = new TrainingStatistics();
            epochStartStep = step;
            epochClock.Restart();
        }
        return new TrainingResult(step, step == 0 ? 0 : schedule.Epoch(step) + 1, Cancelled: false, folder.Path);
    }

    void Report(TrainingProgressKind kind, long step, RunSchedule schedule, TrainingStatistics means, double seconds, QualityReport? quality = null) =>
        progress?.Report(new TrainingProgress(kind, (kind == TrainingProgressKind.Started ? step / schedule.StepsPerEpoch : schedule.Epoch(step)) + 1, step, schedule.LastStep, schedule.StepsPerEpoch,
            means, seconds, quality));

    /// <summary>
    /// What an epoch's end writes: its metrics row and quality measure, its sample grid, the checkpoint and the
    /// copies of it the schedule asks for, the best checkpoint by Fréchet distance, and report.html.
    /// </summary>
    sealed class EpochEnd(TrainingRun run, Gan gan, RunFolder folder, RunSchedule schedule, TrainingEvaluation? evaluation,
        SampleGrid samples, MetricsLog metrics, BestFrechet best)
    {
        readonly Stopwatch sinceCheckpoint = Stopwatch.StartNew();
        TrainingSettings Settings => run.settings;

        public void Write(long step, long stepsInEpoch, TrainingStatistics means, double seconds, bool cancelled)
        {
            long epoch = schedule.Epoch(step);
            // The epoch's report comes before the measure's lines, which read as its continuation.
            var measureLines = new StringWriter();
            var quality = !cancelled && schedule.Evaluates(step) ? evaluation!.Measure(gan, measureLines) : null;
            run.Report(TrainingProgressKind.Epoch, step, schedule, means, seconds, quality);
            run.log.Write(measureLines.ToString());
            metrics.Append(epoch, step, means, seconds, stepsInEpoch * gan.Config.BatchSize / seconds, quality);
            if (!cancelled && schedule.Samples(step))
                samples.Save(folder.Grid(metrics.Number(epoch)), folder.ProgressGif);
            // A snapshot comes with every checkpoint that ends no epoch (a stop's, the run's last), as the run's end does.
            bool keeps = schedule.Keeps(step) || cancelled && Settings.KeepEvery > 0 && step % schedule.StepsPerEpoch != 0;
            bool isBest = best.Improves(quality);
            // The copies follow their checkpoint, so that a resume from it can make any a kill prevented.
            if (cancelled || CheckpointDue(step) || keeps || isBest)
            {
                Checkpoint.Save(folder.Checkpoint, gan, step, JsonSerializer.SerializeToElement(Settings, TrainingSettings.Json));
                run.checkpointStep = step;
                sinceCheckpoint.Restart();
            }
            if (keeps) folder.CopyCheckpointTo(folder.Snapshot(metrics.Number(epoch)), step);
            if (isBest)
            {
                best.Record(quality!, step);
                folder.CopyCheckpointTo(folder.BestCheckpoint, step);
            }
            RunReport.Write(folder.Path);
        }

        /// <summary>Whether the schedule's epochs or the minutes since the last checkpoint ask for one.</summary>
        bool CheckpointDue(long step) =>
            schedule.Checkpoints(step) || Settings.CheckpointMinutes > 0 && sinceCheckpoint.Elapsed.TotalMinutes >= Settings.CheckpointMinutes;
    }

    /// <summary>The lowest Fréchet distance of the run so far and its step; -1 while none is measured.</summary>
    sealed class BestFrechet
    {
        double frechet = double.PositiveInfinity;
        public double Step { get; private set; } = -1;

        /// <summary>A resumed run's best so far is in the rows metrics.csv already holds.</summary>
        public static BestFrechet SoFar(string metricsPath)
        {
            var best = new BestFrechet();
            var rows = MetricsTable.Read(metricsPath);
            foreach (var (frechet, at) in rows.Column("frechet").Zip(rows.Column("step")))
                if (frechet < best.frechet) (best.frechet, best.Step) = (frechet, at);
            return best;
        }

        public bool Improves(QualityReport? quality) => quality?.Frechet < frechet;

        public void Record(QualityReport quality, long step) => (frechet, Step) = (quality.Frechet!.Value, step);
    }

    static float[] TrainingImages(ImageSplit train)
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

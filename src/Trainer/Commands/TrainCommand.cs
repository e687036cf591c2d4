using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>`train`: the GAN on MNIST, a recipe's config with any model option given on top.</summary>
public static class TrainCommand
{
    public static Command Create(TextWriter output, bool terminal) =>
        new("train", "trains the GAN (the stable recipe unless --recipe names another); writes samples, metrics, checkpoints and report.html to a run folder",
            args =>
            {
                var settings = Read(args) with { ProgressInterval = ProgressReporter.Interval(terminal) };
                return () => Train(settings, output, terminal);
            });

    /// <summary>
    /// Trains, printing its progress and turning Ctrl-C and SIGTERM into its cancellation; returns the exit code: 0
    /// when the run ends, a signal's when one stopped it.
    /// </summary>
    static int Train(TrainingSettings settings, TextWriter output, bool terminal)
    {
        using var signals = new StopSignals();
        var printer = new ProgressPrinter(output, terminal);
        TrainingResult result;
        try { result = TrainingRun.Run(settings, printer, signals.Token, output); }
        catch (InvalidSettingsException e) { throw new UsageException(e.Setting is { } knob ? $"--{knob}: {e.Problem}" : e.Message); }
        catch (OperationCanceledException) when (signals.Received is { } early)
        {
            output.WriteLine($"stopped by {early} before the first step; nothing was changed");
            return StopSignals.ExitCode(early);
        }
        if (result.Cancelled && signals.Received is { } signal)
        {
            output.WriteLine($"stopped by {signal} at step {result.Step} (epoch {result.Epoch}); the checkpoint of step {result.Step} is written. " +
                $"Continue with: {Invocation.Command("train", "--resume", result.RunFolder)}");
            return StopSignals.ExitCode(signal);
        }
        printer.Done(result);
        return 0;
    }

    /// <summary>The settings the command line asks for; a resumed run's are completed by its checkpoint's.</summary>
    public static TrainingSettings Read(CommandArgs args)
    {
        var train = new KnobArgs(args);
        var recipe = train.Choice(Knobs.Recipe, Recipes.Default, "training recipe, whose values the other options override, and whose " +
            "defaults this help shows (--recipe seed --help shows the seed's): " +
            string.Join("; ", Enum.GetValues<Recipe>().Select(r => $"{CommandArgs.ChoiceName(r)}: {Recipes.Describe(r)}")), setsDefaults: true);
        var defaults = TrainingSettings.For(recipe);
        var model = defaults.Model;
        var settings = defaults with
        {
            DataDir = train.Path(Knobs.Data, defaults.DataDir, "data set folder: MNIST-format IDX files (raw or .gz), CIFAR-10's binary batches, " +
                $"or PNG, JPEG and BMP pictures with one subfolder per class when labelled; {TrainingSettings.DefaultDataDir} is fetched when it does not exist")!,
            ImageFolder = new ImageFolderOptions(
                train.Int(Knobs.ImageSize, 0, "side a folder's pictures are resized and centre-cropped to (0: the first picture's size)") is var size and > 0 ? size : null,
                train.Int(Knobs.Channels, defaults.ImageFolder.Channels, "channels a folder's pictures are converted to: 1 (greyscale) or 3 (RGB)")),
            OutDir = train.Path(Knobs.Out, defaults.OutDir, "run folder")!,
            Epochs = train.Int(Knobs.Epochs, defaults.Epochs, "epochs to train"),
            Model = model with
            {
                BatchSize = train.Int(Knobs.BatchSize, model.BatchSize, "images per batch"),
                ZDim = train.Int(Knobs.ZDim, model.ZDim, "length of the noise vector z"),
                GeneratorWidths = train.IntList(Knobs.GeneratorWidths, model.GeneratorWidths, "widths of G's hidden layers, from z's side"),
                DiscriminatorWidths = train.IntList(Knobs.DiscriminatorWidths, model.DiscriminatorWidths, "widths of D's hidden layers, from the image's side"),
                Adam = model.Adam with
                {
                    LearningRate = train.Float(Knobs.LearningRate, model.Adam.LearningRate, "Adam learning rate"),
                    WeightDecay = train.Float(Knobs.WeightDecay, model.Adam.WeightDecay, "L2 weight decay added to the gradient"),
                    Beta1 = train.Float(Knobs.Beta1, model.Adam.Beta1, "Adam β1"),
                },
                Seed = (ulong)train.Int(Knobs.Seed, (int)model.Seed, "seed of every random draw of the run"),
                Loss = train.Choice(Knobs.Loss, model.Loss, "generator loss"),
                RealTarget = train.Float(Knobs.RealTarget, model.RealTarget, "D's target for real images (below 1: one-sided label smoothing)"),
                DiscriminatorDropout = train.Float(Knobs.DiscriminatorDropout, model.DiscriminatorDropout, "dropout probability after each hidden LeakyReLU of D"),
                GeneratorAverageDecay = train.Double(Knobs.GeneratorAverageDecay, model.GeneratorAverageDecay, "decay of the moving average of G's weights that draws the samples (0: none)"),
                GeneratorAverageWarmup = train.Choice(Knobs.GeneratorAverageWarmup, model.GeneratorAverageWarmup ? Switch.On : Switch.Off,
                    "warm-up of the average's decay: min(decay, (1 + t)/(10 + t)) after G's step t, as TensorFlow's num_updates") == Switch.On,
                LearningRateDecayFrom = train.Int(Knobs.LearningRateDecayFrom, model.LearningRateDecayFrom, "epochs after which both learning rates begin to fall linearly to 0 (E: they fall through epochs E + 1 on)"),
                LearningRateDecayTo = train.Int(Knobs.LearningRateDecayTo, model.LearningRateDecayTo, "epochs after which the decay reaches 0 (F: 0 from epoch F + 1 on; not after --lr-decay-from: no decay)"),
            },
            Accelerator = train.Choice(Knobs.Accelerator, defaults.Accelerator, "where the kernels run (auto: CUDA, then OpenCL, then CPU)"),
            SampleEvery = train.Int(Knobs.SampleEvery, defaults.SampleEvery, "epochs between sample grids (the first and last epoch always get one)"),
            CheckpointEvery = train.Int(Knobs.CheckpointEvery, defaults.CheckpointEvery, "epochs between checkpoints (the run's end always gets one)"),
            CheckpointMinutes = train.Double(Knobs.CheckpointMinutes, defaults.CheckpointMinutes, "a checkpoint also at the first epoch end this many minutes after the last one (0: off)"),
            KeepEvery = train.Int(Knobs.KeepEvery, defaults.KeepEvery, "epochs between snapshots kept as checkpoints/epoch_NNN.ckpt (0: none; the run's end gets one when on)"),
            MaxSteps = train.Int(Knobs.MaxSteps, 0, "stop after this many steps (0: no limit)") is var max and > 0 ? max : null,
            Resume = train.Path(Knobs.Resume, null, "run folder or checkpoint to continue, in its folder with its saved options; only the schedule and output options may be given with it"),
            From = train.Path(Knobs.From, null, "checkpoint or run folder whose networks, optimiser state and step this new run starts from, with this command line's options (the networks' shapes must match)"),
            Overwrite = train.Flag(Knobs.Overwrite, "clear the run already in the run folder and start again"),
            EvalEvery = train.Int(Knobs.EvalEvery, defaults.EvalEvery, "epochs between quality measures appended to metrics.csv, as eval's (0: off; the run's last epoch too when on); the best by Fréchet distance is kept as checkpoints/best.ckpt"),
            EvalSamples = train.Int(Knobs.EvalSamples, defaults.EvalSamples, "samples drawn for each quality measure"),
            Classifier = train.Path(Knobs.Classifier, null, "classifier of the data that --eval-every measures with, made by 'classifier --data DIR --out FILE' (default: MNIST's)"),
        };
        if (settings.Model.LearningRateDecayTo < settings.Model.LearningRateDecayFrom && train.Given(Knobs.LearningRateDecayTo))
            throw new UsageException($"--lr-decay-to: {settings.Model.LearningRateDecayTo} is before --lr-decay-from's {settings.Model.LearningRateDecayFrom}");
        if (!ImageShape.ChannelCounts.Contains(settings.ImageFolder.Channels))
            throw new UsageException($"--channels: {settings.ImageFolder.Channels} is neither 1 (greyscale) nor 3 (RGB)");
        if (settings.Model.Problem() is { } problem)
            throw new UsageException($"--batch-size, --z-dim, --g-widths, --d-widths: {problem}");
        if (settings.Resume is not null && settings.From is not null)
            throw new UsageException("--resume continues a run in its folder and --from starts a new one from another's checkpoint: give one of them");
        return settings.Resume is { } resume ? Resuming(train, settings, resume) : settings;
    }

    /// <summary>
    /// The run folder and checkpoint --resume names: a run folder, or its checkpoint.ckpt. Any other checkpoint, a
    /// snapshot of checkpoints/ included, is refused, so that a run is never continued in a folder of another kind.
    /// </summary>
    static (string Folder, string Checkpoint) RunOf(string resume)
    {
        string folder;
        if (Directory.Exists(resume)) folder = resume;
        else if (Path.GetFileName(resume) == RunFolder.CheckpointFile)
            folder = Path.GetDirectoryName(resume) is { Length: > 0 } parent ? parent : ".";
        else
            throw new UsageException($"--resume: {resume} is neither a run folder nor a run's {RunFolder.CheckpointFile}; " +
                $"to train on from another checkpoint, start a new run from it: --from {resume} --out <new folder>");
        var full = Path.GetFullPath(folder);
        if (Path.GetFileName(Path.TrimEndingDirectorySeparator(full)) == RunFolder.SnapshotFolder &&
            File.Exists(Path.Combine(full, "..", RunFolder.CheckpointFile)))
            throw new UsageException($"--resume: {folder} is the snapshot folder of a run; give the run's folder, {Path.GetDirectoryName(Path.TrimEndingDirectorySeparator(full))}");
        var checkpoint = Path.Combine(folder, RunFolder.CheckpointFile);
        if (!File.Exists(checkpoint))
            throw new FileNotFoundException($"--resume: {folder} holds no {RunFolder.CheckpointFile}, so there is no run to continue there", checkpoint);
        return (folder, checkpoint);
    }

    /// <summary>A resumed run's settings: its checkpoint and folder found, model knobs refused.</summary>
    static TrainingSettings Resuming(KnobArgs train, TrainingSettings settings, string resume)
    {
        var refused = train.Given(KnobClass.Model).Select(k => "--" + k.Name).ToList();
        if (refused.Count > 0)
            throw new UsageException($"{string.Join(", ", refused)}: a resumed run keeps the model and training options " +
                "it was started with; start a new run (--out elsewhere, or --overwrite) to change them");
        if (settings.Overwrite) throw new UsageException("--overwrite starts a run again and --resume continues it: give one of them");
        var (folder, checkpoint) = RunOf(resume);
        if (train.Given(Knobs.Out) && Path.GetFullPath(settings.OutDir) != Path.GetFullPath(folder))
            throw new UsageException($"--out: a resumed run continues in its own folder, {folder}, not {settings.OutDir}");
        return settings with
        {
            OutDir = folder,
            Resume = checkpoint,
            Given = train.Given(KnobClass.Schedule).Select(k => k.Name).ToHashSet(),
        };
    }
}

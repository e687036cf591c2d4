using System.Text.Json.Serialization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `train` was asked to do: the model to train and how the run goes around it.</summary>
public sealed record TrainOptions
{
    /// <summary>
    /// The recipe's config with the model options given. A resumed run trains the checkpoint's config instead,
    /// and a model option given with --resume is refused.
    /// </summary>
    [JsonIgnore]
    public GanConfig Model { get; init; } = Recipes.Config(Recipe.Reference);
    public string DataDir { get; init; } = "data/mnist";
    public string OutDir { get; init; } = RunFolder(Recipe.Reference);
    public int Epochs { get; init; } = 300;
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
    public int SampleEvery { get; init; } = 20;
    public int CheckpointEvery { get; init; } = 10;
    /// <summary>Epochs between kept snapshots, checkpoints/epoch_NNN.ckpt; 0: none.</summary>
    public int KeepEvery { get; init; }
    /// <summary>Minutes after which the next epoch end also writes a checkpoint; 0: by epochs only.</summary>
    public double CheckpointMinutes { get; init; } = 10;
    /// <summary>Steps this invocation may run, null for no limit: quick runs and tests.</summary>
    public long? MaxSteps { get; init; }
    /// <summary>The checkpoint a resumed run continues from, in its run folder <see cref="OutDir"/>.</summary>
    public string? Resume { get; init; }
    /// <summary>The checkpoint, of another run, whose networks, optimiser state and step a new run starts from.</summary>
    public string? From { get; init; }
    /// <summary>Whether a run already in <see cref="OutDir"/> is to be cleared and started again.</summary>
    [JsonIgnore]
    public bool Overwrite { get; init; }
    /// <summary>The options a resumed run takes from the command line rather than from the run's saved ones.</summary>
    [JsonIgnore]
    public IReadOnlySet<string> Given { get; init; } = new HashSet<string>();
    /// <summary>Epochs between quality measures in metrics.csv; 0: none.</summary>
    public int EvalEvery { get; init; }
    public int EvalSamples { get; init; } = Evaluation.DefaultCount;
    /// <summary>
    /// The training images' count and hash, recorded by a run's start so that its resume refuses other data
    /// (<see cref="TrainCommand.DataFingerprint"/>); null in the options of runs that predate it.
    /// </summary>
    public string? DataFingerprint { get; init; }

    /// <summary>The bounds of eval's sample count: a Fréchet covariance needs two samples at least.</summary>
    public const int MinEvalSamples = 2, MaxEvalSamples = 1_000_000;

    /// <summary>
    /// The first option outside what the command line accepts, or null: a checkpoint's saved options are a file's,
    /// which anyone may have edited.
    /// </summary>
    public string? Invalid() =>
        Epochs < 1 ? $"epochs {Epochs} is less than 1"
        : SampleEvery < 1 ? $"sample-every {SampleEvery} is less than 1"
        : CheckpointEvery < 1 ? $"checkpoint-every {CheckpointEvery} is less than 1"
        : KeepEvery < 0 ? $"keep-every {KeepEvery} is negative"
        : EvalEvery < 0 ? $"eval-every {EvalEvery} is negative"
        : EvalSamples is < MinEvalSamples or > MaxEvalSamples ? $"eval-samples {EvalSamples} is outside [{MinEvalSamples}, {MaxEvalSamples}]"
        : !(CheckpointMinutes >= 0) || double.IsInfinity(CheckpointMinutes) ? $"checkpoint-minutes {CheckpointMinutes} is not a non-negative number"
        : !Enum.IsDefined(Accelerator) ? $"accelerator {(int)Accelerator} is none of {string.Join(", ", Enum.GetNames<AcceleratorKind>())}"
        : string.IsNullOrEmpty(DataDir) ? "the data folder is empty"
        : null;

    /// <summary>The run folder of a recipe when --out is not given: runs/seed, runs/stable.</summary>
    public static string RunFolder(Recipe recipe) => $"runs/{CommandArgs.ChoiceName(recipe)}";

    /// <summary>
    /// The options of a resumed run: the run's <paramref name="saved"/> ones, with the schedule and output options
    /// given on this command line, and this invocation's step limit.
    /// </summary>
    public TrainOptions Continuing(TrainOptions saved) => saved with
    {
        DataDir = Pick("data", DataDir, saved.DataDir),
        OutDir = OutDir,
        Epochs = Pick("epochs", Epochs, saved.Epochs),
        Accelerator = Pick("accelerator", Accelerator, saved.Accelerator),
        SampleEvery = Pick("sample-every", SampleEvery, saved.SampleEvery),
        CheckpointEvery = Pick("checkpoint-every", CheckpointEvery, saved.CheckpointEvery),
        CheckpointMinutes = Pick("checkpoint-minutes", CheckpointMinutes, saved.CheckpointMinutes),
        KeepEvery = Pick("keep-every", KeepEvery, saved.KeepEvery),
        EvalEvery = Pick("eval-every", EvalEvery, saved.EvalEvery),
        EvalSamples = Pick("eval-samples", EvalSamples, saved.EvalSamples),
        MaxSteps = MaxSteps,
        Resume = Resume,
        Given = Given,
    };

    T Pick<T>(string option, T given, T saved) => Given.Contains(option) ? given : saved;
}

/// <summary>`train`: the GAN on MNIST, a recipe's config with any model option given on top.</summary>
public static class TrainCommand
{
    /// <summary>
    /// The options that fix the model or its training mathematics: a resumed run keeps the checkpoint's, since
    /// changing one midway would make a run that no unbroken run reproduces.
    /// </summary>
    static readonly string[] ModelOptions =
        ["recipe", "batch-size", "z-dim", "g-widths", "d-widths", "lr", "weight-decay", "beta1", "seed", "loss", "real-target", "d-dropout", "g-average",
         "g-average-warmup", "lr-decay-from", "lr-decay-to"];

    /// <summary>
    /// The options a resumed run takes from its command line, the others coming from the run's saved ones: where the
    /// data is and where the kernels run, the schedule and the outputs (<see cref="TrainOptions.Continuing"/>).
    /// </summary>
    static readonly string[] HonouredOptions =
        ["data", "accelerator", "epochs", "sample-every", "checkpoint-every", "checkpoint-minutes", "keep-every", "eval-every", "eval-samples"];

    public static Command Create(TextWriter output, bool terminal) =>
        new("train", "trains the GAN (the stable recipe unless --recipe names another); writes samples, metrics, checkpoints and report.html to a run folder",
            args =>
            {
                var options = Read(args);
                return () => new TrainingRun(options, output, terminal).Run();
            });

    public static TrainOptions Read(CommandArgs args)
    {
        var recipe = args.Choice("recipe", Recipes.Default, "training recipe, whose values the other options override, and whose " +
            "defaults this help shows (--recipe seed --help shows the seed's): " +
            string.Join("; ", Enum.GetValues<Recipe>().Select(r => $"{CommandArgs.ChoiceName(r)}: {Recipes.Describe(r)}")), setsDefaults: true);
        var model = Recipes.Config(recipe);
        var defaults = new TrainOptions();
        var options = new TrainOptions
        {
            DataDir = args.Path("data", defaults.DataDir, "folder of the four MNIST-format IDX files (raw or .gz); fetched when it does not exist"),
            OutDir = args.Path("out", TrainOptions.RunFolder(recipe), "run folder"),
            Epochs = args.Int("epochs", defaults.Epochs, "epochs to train", min: 1),
            Model = model with
            {
                BatchSize = args.Int("batch-size", model.BatchSize, "images per batch", min: 2, max: GanConfig.MaxBatchSize),
                ZDim = args.Int("z-dim", model.ZDim, "length of the noise vector z", min: 1, max: GanConfig.MaxFeatures),
                GeneratorWidths = args.IntList("g-widths", model.GeneratorWidths, "widths of G's hidden layers, from z's side", min: 1, max: GanConfig.MaxFeatures)!,
                DiscriminatorWidths = args.IntList("d-widths", model.DiscriminatorWidths, "widths of D's hidden layers, from the image's side", min: 1, max: GanConfig.MaxFeatures)!,
                Adam = model.Adam with
                {
                    LearningRate = args.Float("lr", model.Adam.LearningRate, "Adam learning rate", min: 0, max: float.MaxValue),
                    WeightDecay = args.Float("weight-decay", model.Adam.WeightDecay, "L2 weight decay added to the gradient", min: 0, max: 1),
                    Beta1 = args.Float("beta1", model.Adam.Beta1, "Adam β1", min: 0, max: 0.999f),
                },
                Seed = (ulong)args.Int("seed", (int)model.Seed, "seed of every random draw of the run", min: 0),
                Loss = args.Choice("loss", model.Loss, "generator loss"),
                RealTarget = args.Float("real-target", model.RealTarget, "D's target for real images (below 1: one-sided label smoothing)", min: 0.5f, max: 1),
                DiscriminatorDropout = args.Float("d-dropout", model.DiscriminatorDropout, "dropout probability after each hidden LeakyReLU of D", min: 0, max: 0.99f),
                GeneratorAverageDecay = args.Double("g-average", model.GeneratorAverageDecay, "decay of the moving average of G's weights that draws the samples (0: none)", min: 0, max: 0.999999),
                GeneratorAverageWarmup = args.Choice("g-average-warmup", model.GeneratorAverageWarmup ? Switch.On : Switch.Off,
                    "warm-up of the average's decay: min(decay, (1 + t)/(10 + t)) after G's step t, as TensorFlow's num_updates") == Switch.On,
                LearningRateDecayFrom = args.Int("lr-decay-from", model.LearningRateDecayFrom, "epochs after which both learning rates begin to fall linearly to 0 (E: they fall through epochs E + 1 on)", min: 0),
                LearningRateDecayTo = args.Int("lr-decay-to", model.LearningRateDecayTo, "epochs after which the decay reaches 0 (F: 0 from epoch F + 1 on; not after --lr-decay-from: no decay)", min: 0),
            },
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run (auto: CUDA, then OpenCL, then CPU)"),
            SampleEvery = args.Int("sample-every", defaults.SampleEvery, "epochs between sample grids (the first and last epoch always get one)", min: 1),
            CheckpointEvery = args.Int("checkpoint-every", defaults.CheckpointEvery, "epochs between checkpoints (the run's end always gets one)", min: 1),
            CheckpointMinutes = args.Double("checkpoint-minutes", defaults.CheckpointMinutes, "a checkpoint also at the first epoch end this many minutes after the last one (0: off)", min: 0),
            KeepEvery = args.Int("keep-every", defaults.KeepEvery, "epochs between snapshots kept as checkpoints/epoch_NNN.ckpt (0: none; the run's end gets one when on)", min: 0),
            MaxSteps = args.Int("max-steps", 0, "stop after this many steps (0: no limit)", min: 0) is var max and > 0 ? max : null,
            Resume = args.Path("resume", null, "run folder or checkpoint to continue, in its folder with its saved options; only the schedule and output options may be given with it"),
            From = args.Path("from", null, "checkpoint or run folder whose networks, optimiser state and step this new run starts from, with this command line's options (the networks' shapes must match)"),
            Overwrite = args.Flag("overwrite", "clear the run already in the run folder and start again"),
            EvalEvery = args.Int("eval-every", defaults.EvalEvery, "epochs between quality measures appended to metrics.csv, as eval's (0: off; the run's last epoch too when on); the best by Fréchet distance is kept as checkpoints/best.ckpt", min: 0),
            EvalSamples = args.Int("eval-samples", defaults.EvalSamples, "samples drawn for each quality measure", min: TrainOptions.MinEvalSamples, max: TrainOptions.MaxEvalSamples),
        };
        if (options.Model.LearningRateDecayTo < options.Model.LearningRateDecayFrom && args.Given("lr-decay-to"))
            throw new UsageException($"--lr-decay-to: {options.Model.LearningRateDecayTo} is before --lr-decay-from's {options.Model.LearningRateDecayFrom}");
        if (options.Model.Problem() is { } problem)
            throw new UsageException($"--batch-size, --z-dim, --g-widths, --d-widths: {problem}");
        if (options.Resume is not null && options.From is not null)
            throw new UsageException("--resume continues a run in its folder and --from starts a new one from another's checkpoint: give one of them");
        return options.Resume is { } resume ? Resuming(args, options, resume) : options;
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

    /// <summary>
    /// What the run trains on, as its options record it: the training images' count and the start of their
    /// SHA-256, enough to tell another data set or an edited one.
    /// </summary>
    public static string DataFingerprint(byte[] trainingImages, int imagePixels) =>
        $"{trainingImages.Length / imagePixels} images, SHA-256 {Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(trainingImages))[..16]}";

    /// <summary>A resumed run's options: its checkpoint and folder found, model options refused.</summary>
    static TrainOptions Resuming(CommandArgs args, TrainOptions options, string resume)
    {
        var refused = ModelOptions.Where(args.Given).Select(o => "--" + o).ToList();
        if (refused.Count > 0)
            throw new UsageException($"{string.Join(", ", refused)}: a resumed run keeps the model and training options " +
                "it was started with; start a new run (--out elsewhere, or --overwrite) to change them");
        if (options.Overwrite) throw new UsageException("--overwrite starts a run again and --resume continues it: give one of them");
        var (folder, checkpoint) = RunOf(resume);
        if (args.Given("out") && Path.GetFullPath(options.OutDir) != Path.GetFullPath(folder))
            throw new UsageException($"--out: a resumed run continues in its own folder, {folder}, not {options.OutDir}");
        return options with
        {
            OutDir = folder,
            Resume = checkpoint,
            Given = HonouredOptions.Where(args.Given).ToHashSet(),
        };
    }
}

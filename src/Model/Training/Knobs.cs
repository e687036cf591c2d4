using System.Globalization;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Training;

/// <summary>What a knob is to a run, which decides what a resumed run does with it.</summary>
public enum KnobClass
{
    /// <summary>
    /// Fixes the model or its training mathematics: a resumed run keeps the checkpoint's and refuses one given, since
    /// changing one midway would make a run that no unbroken run reproduces.
    /// </summary>
    Model,
    /// <summary>The run's schedule, its data and its device: saved with the run; given with a resume, it replaces the saved one.</summary>
    Schedule,
    /// <summary>This invocation's alone (where it writes, what it starts from, how far it goes): never saved.</summary>
    Invocation,
}

/// <summary>
/// A knob of a training run, named as `train` spells it: its class and, for a number, its bounds, which every
/// reader checks through <see cref="Problem(double)"/> (the command line, <see cref="GanConfig.Problem"/> for a
/// checkpoint's config, <see cref="TrainingSettings.Problem"/> for a run's saved settings).
/// </summary>
public sealed record Knob(string Name, KnobClass Class)
{
    /// <summary>The least value the knob may take.</summary>
    public double Min { get; init; } = double.NegativeInfinity;
    /// <summary>The greatest value the knob may take.</summary>
    public double Max { get; init; } = double.PositiveInfinity;

    /// <summary>
    /// For a schedule knob: the settings <c>to</c> with this knob's value taken from <c>from</c>, which is how a
    /// resumed run honours one given on its command line.
    /// </summary>
    public Func<TrainingSettings, TrainingSettings, TrainingSettings>? Carry { get; init; }

    /// <summary>Why <paramref name="value"/> is outside the knob's bounds or not finite, or null when it is a value the knob may have.</summary>
    public string? Problem(double value) => Problem(value, Min, Max, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>The same for a float knob, whose bounds are taken as the floats nearest them (0.999 as 0.999f).</summary>
    public string? Problem(float value) => Problem(value, (float)Min, (float)Max, value.ToString(CultureInfo.InvariantCulture));

    string? Problem(double value, double min, double max, string text) =>
        !double.IsFinite(value) ? $"{Name} {text} is not a finite number"
        : value < min ? Invariant($"{Name} {text} is less than the minimum {min}")
        : value > max ? Invariant($"{Name} {text} is more than the maximum {max}")
        : null;

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>
/// Every knob of a training run, declared once: the command line reads each through its declaration here, the
/// readers of saved configs and settings validate by it, and a resumed run sorts what it is given by its class.
/// </summary>
public static class Knobs
{
    /// <summary>--recipe: the recipe whose values the other knobs override.</summary>
    public static readonly Knob Recipe = new("recipe", KnobClass.Model);
    /// <summary>The side a folder's pictures are resized and centre-cropped to; 0: the first picture's size.</summary>
    public static readonly Knob ImageSize = new("image-size", KnobClass.Model) { Min = 0, Max = ImageFolder.MaxSide };
    /// <summary>The channels a folder's pictures are converted to: 1 (greyscale) or 3 (RGB).</summary>
    public static readonly Knob Channels = new("channels", KnobClass.Model) { Min = 1, Max = 3 };
    /// <summary>--batch-size: images per batch.</summary>
    public static readonly Knob BatchSize = new("batch-size", KnobClass.Model) { Min = 2, Max = GanConfig.MaxBatchSize };
    /// <summary>--z-dim: the length of the noise vector z.</summary>
    public static readonly Knob ZDim = new("z-dim", KnobClass.Model) { Min = 1, Max = GanConfig.MaxFeatures };
    /// <summary>Each width of G's hidden layers.</summary>
    public static readonly Knob GeneratorWidths = new("g-widths", KnobClass.Model) { Min = 1, Max = GanConfig.MaxFeatures };
    /// <summary>Each width of D's hidden layers.</summary>
    public static readonly Knob DiscriminatorWidths = new("d-widths", KnobClass.Model) { Min = 1, Max = GanConfig.MaxFeatures };
    /// <summary>--lr: Adam's learning rate.</summary>
    public static readonly Knob LearningRate = new("lr", KnobClass.Model) { Min = 0, Max = float.MaxValue };
    /// <summary>--weight-decay: the L2 decay added to the gradient.</summary>
    public static readonly Knob WeightDecay = new("weight-decay", KnobClass.Model) { Min = 0, Max = 1 };
    /// <summary>Adam's β1, below 1 so that its bias correction 1 − β1^t is never 0.</summary>
    public static readonly Knob Beta1 = new("beta1", KnobClass.Model) { Min = 0, Max = 0.999 };
    /// <summary>--seed: the seed of every random draw of the run.</summary>
    public static readonly Knob Seed = new("seed", KnobClass.Model) { Min = 0, Max = int.MaxValue };
    /// <summary>--loss: G's loss.</summary>
    public static readonly Knob Loss = new("loss", KnobClass.Model);
    /// <summary>D's target for real images: one-sided label smoothing goes no lower than the half that says nothing.</summary>
    public static readonly Knob RealTarget = new("real-target", KnobClass.Model) { Min = 0.5, Max = 1 };
    /// <summary>Dropout's probability, short of 1, whose scale 1/(1 − p) is infinite.</summary>
    public static readonly Knob DiscriminatorDropout = new("d-dropout", KnobClass.Model) { Min = 0, Max = 0.99 };
    /// <summary>The decay of G's average, short of 1, which would never move from the initial weights.</summary>
    public static readonly Knob GeneratorAverageDecay = new("g-average", KnobClass.Model) { Min = 0, Max = 0.999999 };
    /// <summary>--g-average-warmup: whether the average's decay warms up.</summary>
    public static readonly Knob GeneratorAverageWarmup = new("g-average-warmup", KnobClass.Model);
    /// <summary>--lr-decay-from: the epochs after which the learning rates begin to fall.</summary>
    public static readonly Knob LearningRateDecayFrom = new("lr-decay-from", KnobClass.Model) { Min = 0, Max = int.MaxValue };
    /// <summary>--lr-decay-to: the epochs after which the learning rates reach 0.</summary>
    public static readonly Knob LearningRateDecayTo = new("lr-decay-to", KnobClass.Model) { Min = 0, Max = int.MaxValue };

    /// <summary>--data: the data set's folder.</summary>
    public static readonly Knob Data = new("data", KnobClass.Schedule) { Carry = (from, to) => to with { DataDir = from.DataDir } };
    /// <summary>--accelerator: where the kernels run.</summary>
    public static readonly Knob Accelerator = new("accelerator", KnobClass.Schedule) { Carry = (from, to) => to with { Accelerator = from.Accelerator } };
    /// <summary>--epochs: the epochs the run trains.</summary>
    public static readonly Knob Epochs = new("epochs", KnobClass.Schedule) { Min = 1, Max = int.MaxValue, Carry = (from, to) => to with { Epochs = from.Epochs } };
    /// <summary>--sample-every: epochs between sample grids.</summary>
    public static readonly Knob SampleEvery = new("sample-every", KnobClass.Schedule)
        { Min = 1, Max = int.MaxValue, Carry = (from, to) => to with { SampleEvery = from.SampleEvery } };
    /// <summary>--checkpoint-every: epochs between checkpoints.</summary>
    public static readonly Knob CheckpointEvery = new("checkpoint-every", KnobClass.Schedule)
        { Min = 1, Max = int.MaxValue, Carry = (from, to) => to with { CheckpointEvery = from.CheckpointEvery } };
    /// <summary>--checkpoint-minutes: minutes after which an epoch's end also writes a checkpoint.</summary>
    public static readonly Knob CheckpointMinutes = new("checkpoint-minutes", KnobClass.Schedule)
        { Min = 0, Carry = (from, to) => to with { CheckpointMinutes = from.CheckpointMinutes } };
    /// <summary>--keep-every: epochs between kept snapshots.</summary>
    public static readonly Knob KeepEvery = new("keep-every", KnobClass.Schedule)
        { Min = 0, Max = int.MaxValue, Carry = (from, to) => to with { KeepEvery = from.KeepEvery } };
    /// <summary>--eval-every: epochs between quality measures.</summary>
    public static readonly Knob EvalEvery = new("eval-every", KnobClass.Schedule)
        { Min = 0, Max = int.MaxValue, Carry = (from, to) => to with { EvalEvery = from.EvalEvery } };
    /// <summary>Samples per quality measure: a Fréchet covariance needs two at least.</summary>
    public static readonly Knob EvalSamples = new("eval-samples", KnobClass.Schedule)
        { Min = 2, Max = 1_000_000, Carry = (from, to) => to with { EvalSamples = from.EvalSamples } };

    /// <summary>The classifier of the data that the quality measures use; null: MNIST's.</summary>
    public static readonly Knob Classifier = new("classifier", KnobClass.Schedule) { Carry = (from, to) => to with { Classifier = from.Classifier } };

    /// <summary>--out: the run folder.</summary>
    public static readonly Knob Out = new("out", KnobClass.Invocation);
    /// <summary>--max-steps: the most steps this invocation runs.</summary>
    public static readonly Knob MaxSteps = new("max-steps", KnobClass.Invocation) { Min = 0, Max = int.MaxValue };
    /// <summary>--resume: the run folder or checkpoint to continue.</summary>
    public static readonly Knob Resume = new("resume", KnobClass.Invocation);
    /// <summary>--from: the checkpoint a new run starts from.</summary>
    public static readonly Knob From = new("from", KnobClass.Invocation);
    /// <summary>--overwrite: clear the run in the run folder and start again.</summary>
    public static readonly Knob Overwrite = new("overwrite", KnobClass.Invocation);

    /// <summary>Every knob above, found by reflection so that declaring one is all it takes to list it.</summary>
    public static IReadOnlyList<Knob> All { get; } = typeof(Knobs).GetFields()
        .Where(f => f.FieldType == typeof(Knob)).Select(f => (Knob)f.GetValue(null)!).ToList();

    /// <summary>The knob `train` names <paramref name="name"/>, or null.</summary>
    public static Knob? Named(string name) => All.FirstOrDefault(k => k.Name == name);
}

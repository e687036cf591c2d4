using System.Text.Json;
using System.Text.Json.Serialization;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Training;

/// <summary>
/// What a training run is to do: the model to train (a recipe's config with any knob changed) and how the run goes
/// around it. The defaults are the <see cref="Recipes.Default"/> recipe's run, as `train`'s are; <see cref="For"/>
/// starts from another recipe. Each knob is declared in <see cref="Knobs"/>.
/// </summary>
public sealed record TrainingSettings
{
    /// <summary>The recipe's config with any model knob changed. A resumed run trains the checkpoint's config instead.</summary>
    [JsonIgnore]
    public GanConfig Model { get; init; } = Recipes.Config(Recipes.Default);
    /// <summary>The recipe <see cref="Model"/> was made from; null in the saved settings of runs that predate it.</summary>
    public Recipe? Recipe { get; init; } = Recipes.Default;
    /// <summary>The data set's folder, in any format <see cref="ImageDataset.Open"/> reads.</summary>
    public string DataDir { get; init; } = DefaultDataDir;
    /// <summary>How a folder of pictures becomes the training images; unused by the other formats.</summary>
    public ImageFolderOptions ImageFolder { get; init; } = new();
    /// <summary>The run folder.</summary>
    public string OutDir { get; init; } = Recipes.RunFolder(Recipes.Default);
    /// <summary>The epochs the run trains, counting those a resumed run has done.</summary>
    public int Epochs { get; init; } = 300;
    /// <summary>Where the kernels run.</summary>
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
    /// <summary>Epochs between sample grids; the first and last epoch always get one.</summary>
    public int SampleEvery { get; init; } = 20;
    /// <summary>Epochs between checkpoints; the run's end always gets one.</summary>
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
    /// <summary>
    /// The schedule knobs (<see cref="KnobClass.Schedule"/>, by name) that a resumed run takes from these settings
    /// rather than from the run's saved ones; also where a resumed run may fetch its data.
    /// </summary>
    [JsonIgnore]
    public IReadOnlySet<string> Given { get; init; } = new HashSet<string>();
    /// <summary>Epochs between quality measures in metrics.csv; 0: none.</summary>
    public int EvalEvery { get; init; }
    /// <summary>Samples drawn for each quality measure.</summary>
    public int EvalSamples { get; init; } = Evaluation.DefaultCount;
    /// <summary>The classifier <see cref="EvalEvery"/> measures with; null: MNIST's, <see cref="Evaluation.DefaultClassifierPath"/>.</summary>
    public string? Classifier { get; init; }
    /// <summary>
    /// The training images' count and hash, recorded by a run's start so that its resume refuses other data
    /// (<see cref="TrainingRun.DataFingerprint"/>); null in the settings of runs that predate it.
    /// </summary>
    public string? DataFingerprint { get; init; }
    /// <summary>How often, at most, a progress report comes within an epoch; each one reads the device's sums.</summary>
    [JsonIgnore]
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The one data folder a run fetches MNIST into when it does not exist.</summary>
    public const string DefaultDataDir = "data/mnist";

    /// <summary>A recipe's run: its config, and its run folder runs/&lt;recipe&gt;.</summary>
    public static TrainingSettings For(Recipe recipe) =>
        new() { Recipe = recipe, Model = Recipes.Config(recipe), OutDir = Recipes.RunFolder(recipe) };

    /// <summary>
    /// How settings are written where a run keeps them (config.json, the checkpoint): enums by name. Numbers, as
    /// runs before it wrote them, still read.
    /// </summary>
    public static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, Converters = { new JsonStringEnumConverter() } };

    /// <summary>
    /// The first knob outside its bounds, or null: the model's (<see cref="GanConfig.Problem"/>), then the run's. A
    /// checkpoint's saved settings are a file's, which anyone may have edited.
    /// </summary>
    public string? Problem() =>
        Model.Problem()
        ?? Knobs.Epochs.Problem(Epochs)
        ?? Knobs.SampleEvery.Problem(SampleEvery)
        ?? Knobs.CheckpointEvery.Problem(CheckpointEvery)
        ?? Knobs.KeepEvery.Problem(KeepEvery)
        ?? Knobs.EvalEvery.Problem(EvalEvery)
        ?? Knobs.EvalSamples.Problem(EvalSamples)
        ?? Knobs.CheckpointMinutes.Problem(CheckpointMinutes)
        ?? (MaxSteps is { } steps ? Knobs.MaxSteps.Problem(steps) : null)
        ?? (!Enum.IsDefined(Accelerator) ? $"accelerator {(int)Accelerator} is none of {string.Join(", ", Enum.GetNames<AcceleratorKind>())}" : null)
        ?? (Recipe is { } recipe && !Enum.IsDefined(recipe) ? $"recipe {(int)recipe} is not one this build knows" : null)
        ?? (string.IsNullOrEmpty(DataDir) ? "the data folder is empty" : null)
        ?? (ImageFolder is not { } pictures ? "no picture conversion"
            : Knobs.ImageSize.Problem(pictures.Size ?? 0) ?? Knobs.Channels.Problem(pictures.Channels)
              ?? (!ImageShape.ChannelCounts.Contains(pictures.Channels) ? $"channels {pictures.Channels} is neither 1 (greyscale) nor 3 (RGB)" : null))
        ?? (string.IsNullOrEmpty(OutDir) ? "the run folder is empty" : null);

    /// <summary>
    /// The settings of a resumed run: the run's <paramref name="saved"/> ones, with the schedule knobs named in
    /// <see cref="Given"/> taken from these, and this invocation's own.
    /// </summary>
    public TrainingSettings Continuing(TrainingSettings saved)
    {
        var settings = saved with
        {
            OutDir = OutDir,
            MaxSteps = MaxSteps,
            Resume = Resume,
            From = null,
            Overwrite = false,
            Given = Given,
            ProgressInterval = ProgressInterval,
        };
        foreach (var knob in Knobs.All.Where(k => k.Class == KnobClass.Schedule && Given.Contains(k.Name)))
            settings = knob.Carry!(this, settings);
        return settings;
    }

    /// <summary>
    /// The settings a checkpoint's run was trained with, as it saved them; null in a checkpoint that has none. Those
    /// of runs before the recipe was recorded read with no recipe.
    /// </summary>
    public static TrainingSettings? Saved(JsonElement? saved)
    {
        if (saved is not { ValueKind: JsonValueKind.Object } element) return null;
        var settings = element.Deserialize<TrainingSettings>(Json)!;
        return element.TryGetProperty(nameof(Recipe), out _) ? settings : settings with { Recipe = null };
    }
}

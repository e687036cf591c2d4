using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// The training loop as a library call: its settings, progress, cancellation and exceptions, and the knobs that
/// `train` reads, each declared once with its class.
/// </summary>
public sealed class TrainingApiTests : ProgramTests
{
    TrainingSettings Tiny(string run) => new()
    {
        DataDir = WriteTinyMnist(),
        OutDir = Folder.File(run),
        Model = Recipes.Config(Recipe.Stable) with { BatchSize = 8, GeneratorWidths = [16], DiscriminatorWidths = [16] },
        Accelerator = AcceleratorKind.Cpu,
        Epochs = 2,
    };

    sealed class Recorder(Action<TrainingProgress>? then = null) : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];

        public void Report(TrainingProgress value)
        {
            Reports.Add(value);
            then?.Invoke(value);
        }
    }

    /// <summary>The options `train` declares, as its help lists them, less the two every command has (--help, --version).</summary>
    static List<string> TrainOptions()
    {
        var args = new CommandArgs("train", ["--help"]);
        TrainCommand.Read(args);
        return args.Help("").Split('\n').Select(l => l.Trim()).Where(l => l.StartsWith("--", StringComparison.Ordinal))
            .Select(l => l[2..].Split(' ')[0]).Where(name => name is not ("help" or "version")).ToList();
    }

    [Test]
    public void EveryTrainOptionIsAKnobWithAClass()
    {
        var options = TrainOptions();

        Assert.That(options, Has.Count.GreaterThan(20), "the help was read");
        Assert.That(options.Where(o => Knobs.Named(o) is null), Is.Empty, "options declared without a knob, so without a class");
        Assert.That(Knobs.All.Select(k => k.Name), Is.EquivalentTo(options), "every knob is an option of train");
        Assert.That(Knobs.All.Where(k => (k.Class == KnobClass.Schedule) != (k.Carry is not null)).Select(k => k.Name), Is.Empty,
            "schedule knobs, and only they, say how a resume carries them");
    }

    /// <summary>Each schedule knob given with a resume replaces its saved value, and only its own.</summary>
    [Test]
    public void AResumeCarriesEachScheduleKnobGivenAndNoOther()
    {
        var saved = new TrainingSettings { Accelerator = AcceleratorKind.Cuda, DataDir = "saved-data" };
        var given = new TrainingSettings
        {
            DataDir = "given-data", Accelerator = AcceleratorKind.Cpu, Epochs = 7, SampleEvery = 3, CheckpointEvery = 4,
            CheckpointMinutes = 2, KeepEvery = 5, EvalEvery = 6, EvalSamples = 99, Classifier = "given-classifier.bin",
        };
        var savedJson = JsonSerializer.SerializeToElement(saved, TrainingSettings.Json);
        var givenJson = JsonSerializer.SerializeToElement(given, TrainingSettings.Json);
        foreach (var knob in Knobs.All.Where(k => k.Class == KnobClass.Schedule))
        {
            var resumed = JsonSerializer.SerializeToElement((given with { Given = new HashSet<string> { knob.Name } }).Continuing(saved), TrainingSettings.Json);
            var changed = resumed.EnumerateObject().Where(p => p.Value.ToString() != savedJson.GetProperty(p.Name).ToString()).Select(p => p.Name).ToList();
            Assert.That(changed, Has.Count.EqualTo(1), $"{knob.Name} changes one setting");
            Assert.That(resumed.GetProperty(changed[0]).ToString(), Is.EqualTo(givenJson.GetProperty(changed[0]).ToString()), knob.Name);
        }
        Assert.That(given.Continuing(saved) with { Given = saved.Given }, Is.EqualTo(saved), "nothing given, the saved settings");
    }

    /// <summary>
    /// A new knob as docs say to add one (here a hypothetical --fake-target of the model): declared once, its
    /// bounds are the command line's and the saved config's check, and its class makes a resume refuse it.
    /// </summary>
    [Test]
    public void AKnobDeclaredOnceIsBoundedAndClassified()
    {
        var fakeTarget = new Knob("fake-target", KnobClass.Model) { Min = 0, Max = 0.5 };
        float Read(params string[] args)
        {
            var train = new KnobArgs(new CommandArgs("train", args));
            float value = train.Float(fakeTarget, 0, "D's target for G's images");
            Assert.That(train.Given(KnobClass.Model), Is.EqualTo(args.Length > 0 ? new[] { fakeTarget } : Array.Empty<Knob>()),
                "what a resume refuses");
            return value;
        }

        Assert.That(Read(), Is.Zero);
        Assert.That(Read("--fake-target", "0.1"), Is.EqualTo(0.1f));
        Assert.That(() => Read("--fake-target", "0.7"), Throws.TypeOf<UsageException>().With.Message.Contains("--fake-target: 0.7 is more than the maximum 0.5"));
        Assert.That(fakeTarget.Problem(0.7f), Does.Contain("fake-target 0.7"), "what the config's validator says of a saved one");
        Assert.That(fakeTarget.Problem(0.5f), Is.Null);
    }

    /// <summary>The real-image target has one range, whoever checks it: the command line, a saved config, the GAN.</summary>
    [Test]
    public void TheRealTargetIsValidatedOneWay()
    {
        var config = new GanConfig { RealTarget = 0.4f };
        Assert.That(config.Problem(), Does.Contain("real-target 0.4"));
        Assert.That(() => TrainCommand.Read(new CommandArgs("train", ["--real-target", "0.4"])),
            Throws.TypeOf<UsageException>().With.Message.Contains("less than the minimum 0.5"));
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        Assert.That(() => new Gan(new KernelSet(device), config), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("real-target"));
    }

    [Test]
    public void SettingsDefaultToTheDefaultRecipesRun()
    {
        var settings = new TrainingSettings();
        Assert.That(JsonSerializer.Serialize(settings.Model), Is.EqualTo(JsonSerializer.Serialize(Recipes.Config(Recipes.Default))));
        Assert.That(settings.Recipe, Is.EqualTo(Recipes.Default));
        Assert.That(settings, Is.EqualTo(TrainingSettings.For(Recipes.Default) with { Model = settings.Model, Given = settings.Given }));
        var commandLine = TrainCommand.Read(new CommandArgs("train", []));
        Assert.That(commandLine with { Model = settings.Model, Given = settings.Given }, Is.EqualTo(settings), "the command line's defaults");
    }

    [Test]
    public void InvalidSettingsAreTheLibrarysException()
    {
        var error = Assert.Throws<InvalidSettingsException>(() => TrainingRun.Run(Tiny("run") with { Epochs = 0 }))!;
        Assert.That(error.Message, Does.Contain("epochs 0 is less than the minimum 1"));
        Assert.That(error, Is.InstanceOf<IlgpuGanException>());
        Assert.That(Directory.Exists(Folder.File("run")), Is.False, "nothing is made");
        File.WriteAllText(Folder.File("a-file"), "");
        Assert.That(Assert.Throws<InvalidSettingsException>(() => TrainingRun.Run(Tiny("run") with { OutDir = Folder.File("a-file") }))!.Setting,
            Is.EqualTo("out"));
    }

    /// <summary>Progress comes at the start, after the first step and at each epoch's end; a cancellation stops at a step with its checkpoint.</summary>
    [Test]
    public void TrainingReportsProgressAndStopsWhenCancelled()
    {
        using var cancellation = new CancellationTokenSource();
        var recorder = new Recorder(p =>
        {
            if (p.Step == 8) cancellation.Cancel();
        });

        var result = TrainingRun.Run(Tiny("run") with { ProgressInterval = TimeSpan.Zero }, recorder, cancellation.Token);

        Assert.That(result, Is.EqualTo(new TrainingResult(9, 2, Cancelled: true, Folder.File("run"))), "the step under way when cancelled is the last");
        Assert.That(Checkpoint.Read(Path.Combine(result.RunFolder, RunFolder.CheckpointFile)).Header.Step, Is.EqualTo(9));
        var reports = recorder.Reports;
        Assert.That(reports.Select(r => (r.Kind, r.Step)), Is.EqualTo(new[]
        {
            (TrainingProgressKind.Started, 0L), (TrainingProgressKind.Step, 1L), (TrainingProgressKind.Step, 2L),
            (TrainingProgressKind.Step, 3L), (TrainingProgressKind.Step, 4L), (TrainingProgressKind.Step, 5L),
            (TrainingProgressKind.Epoch, 6L), (TrainingProgressKind.Step, 7L), (TrainingProgressKind.Step, 8L),
            (TrainingProgressKind.Epoch, 9L),
        }));
        Assert.That(reports.Select(r => r.Epoch), Is.EqualTo(new long[] { 1, 1, 1, 1, 1, 1, 1, 2, 2, 2 }));
        Assert.That(reports, Has.All.Matches<TrainingProgress>(r => r.TotalSteps == 12 && r.StepsPerEpoch == 6));
        var epoch = reports[6];
        Assert.That(new[] { epoch.DiscriminatorLoss, epoch.GeneratorLoss }, Has.All.Matches<float>(l => float.IsFinite(l) && l > 0));
        Assert.That(new[] { epoch.RealScore, epoch.FakeScore }, Has.All.InRange(0f, 1f));
        Assert.That(epoch.Seconds, Is.GreaterThan(0));
        Assert.That(epoch.Quality, Is.Null, "no quality measure asked for");
    }

    /// <summary>config.json names its enums and the recipe; a resume's saved settings carry the recipe on.</summary>
    [Test]
    public void ConfigJsonNamesEnumsAndTheRecipe()
    {
        var result = TrainingRun.Run(Tiny("run") with { Recipe = Recipe.Reference, MaxSteps = 1 });

        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(result.RunFolder, "config.json")));
        var options = config.RootElement.GetProperty("options");
        Assert.That(options.GetProperty("Accelerator").GetString(), Is.EqualTo("Cpu"));
        Assert.That(options.GetProperty("Recipe").GetString(), Is.EqualTo("seed"));
        Assert.That(config.RootElement.GetProperty("model").GetProperty("Loss").GetString(), Is.EqualTo("NonSaturating"));
        var saved = TrainingSettings.Saved(Checkpoint.Read(Path.Combine(result.RunFolder, RunFolder.CheckpointFile)).Header.RunOptions);
        Assert.That(saved!.Recipe, Is.EqualTo(Recipe.Reference));
        Assert.That(saved.Accelerator, Is.EqualTo(AcceleratorKind.Cpu));
    }

    /// <summary>The settings and config.json of a run folder written before enums were named and the recipe recorded.</summary>
    [Test]
    public void EarlierRunFoldersStillRead()
    {
        // As the build before names wrote them: enums as numbers, no recipe.
        const string options = """
            {"DataDir":"data/mnist","OutDir":"runs/stable","Epochs":300,"Accelerator":3,"SampleEvery":20,"CheckpointEvery":10,
             "KeepEvery":0,"CheckpointMinutes":10,"MaxSteps":null,"Resume":null,"From":null,"EvalEvery":0,"EvalSamples":10000,
             "DataFingerprint":"48 images, SHA-256 0123456789abcdef"}
            """;
        var saved = TrainingSettings.Saved(JsonDocument.Parse(options).RootElement)!;
        Assert.That(saved.Accelerator, Is.EqualTo(AcceleratorKind.Cpu));
        Assert.That(saved.Recipe, Is.Null, "a run before the recipe was recorded names none");
        Assert.That(saved.Problem(), Is.Null);

        var run = Folder.File("old");
        Directory.CreateDirectory(run);
        File.WriteAllText(Path.Combine(run, "config.json"), $$"""
            {"options":{{options}},"model":{"BatchSize":128,"ZDim":100,"ImagePixels":784,"GeneratorWidths":[128,256,512,1024],
             "DiscriminatorWidths":[512,256],"Loss":0,"Adam":{"LearningRate":0.0002,"Beta1":0.5,"Beta2":0.999,"Eps":1E-08,"WeightDecay":8E-09},
             "Seed":0,"TanhOutput":true,"BatchNormBeforeActivation":true,"RealTarget":0.9,"DiscriminatorDropout":0.3,
             "GeneratorAverageDecay":0.9999,"GeneratorAverageWarmup":true,"LearningRateDecayFrom":0,"LearningRateDecayTo":0},"device":"Cpu CPUAccelerator"}
            """);
        RunReport.Write(run);
        var page = File.ReadAllText(Path.Combine(run, RunReport.FileName));
        Assert.That(page, Does.Contain("On Cpu CPUAccelerator").And.Contain("Accelerator"));
    }
}

using System.Text.Json;
using IlgpuGan.Model;
using IlgpuGan.Trainer;


namespace IlgpuGan.Tests;

/// <summary>
/// The `ilgpugan` program end to end on the CPU accelerator, on the tiny MNIST-format set of
/// <see cref="ProgramTests"/>: an epoch of batch 8 is 6 steps.
/// </summary>
public sealed class TrainerEndToEndTests : ProgramTests
{
    const int Batch = 8;

    string data = null!;

    [SetUp]
    public void MakeData() => data = WriteTinyMnist();

    string[] Train(string run, int maxSteps, params string[] extra) =>
        ["train", "--data", data, "--out", Folder.File(run), "--batch-size", Batch.ToString(), "--accelerator", "cpu",
         "--epochs", "3", "--max-steps", maxSteps.ToString(), "--seed", "11", .. extra];

    [Test]
    public void TrainWritesTheRunFolder()
    {
        var (code, output, error) = Ilgpugan(Train("run", 8));

        Assert.That(code, Is.EqualTo(0), error);
        var run = Folder.File("run");
        Assert.That(output, Does.StartWith("device: Cpu"));
        Assert.That(output, Does.Not.Contain("expected time per epoch"), "8 steps are too few to tell an epoch's time from");
        foreach (var file in new[] { "samples/epoch_001.png", "samples/epoch_002.png", "progress.gif", RunReport.FileName, "config.json", RunFolder.CheckpointFile })
            Assert.That(File.Exists(Path.Combine(run, file)), $"{file} is written");
        var metrics = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        Assert.That(metrics[0], Is.EqualTo(MetricsLog.HeaderFor(MnistDataset.Classes)));
        Assert.That(metrics.Skip(1).Select(l => l.Split(',')[1]), Is.EqualTo(new[] { "6", "8" }), "a row per epoch and one at the stop");
        Assert.That(metrics.Skip(1).Select(l => l.Split(',')[0]), Is.EqualTo(new[] { "1", "2" }), "epochs counted from 1");
        Assert.That(output, Does.Contain("epoch 1 step 6/8:").And.Contain("epoch 2 step 8/8:"));
        var table = MetricsTable.Read(Path.Combine(run, "metrics.csv"));
        Assert.That(table.Column("d_loss").Concat(table.Column("g_loss")), Has.All.Matches<double>(loss => double.IsFinite(loss) && loss > 0));
        var header = Checkpoint.Read(Path.Combine(run, RunFolder.CheckpointFile)).Header;
        Assert.That(header.Step, Is.EqualTo(8));
        // As JSON, because the width lists are new lists, which a record compares by reference.
        Assert.That(JsonSerializer.Serialize(header.Config),
            Is.EqualTo(JsonSerializer.Serialize(Recipes.Config(Recipes.Default) with { BatchSize = Batch, Seed = 11 })),
            "without --recipe, train runs the default recipe");
    }

    /// <summary>
    /// 2N steps in one go and N steps, a resume, N more steps end in the same state, bit for bit; with the stable
    /// recipe too, whose dropout masks are drawn from the step and whose G average is in the checkpoint.
    /// </summary>
    [TestCase("seed")]
    [TestCase("stable")]
    public void ResumeContinuesExactly(string recipe)
    {
        const int n = 5; // the resumed half crosses an epoch boundary, so the reshuffle is resumed too
        Assert.That(Ilgpugan(Train("whole", 2 * n, "--recipe", recipe)).Code, Is.EqualTo(0));
        Assert.That(Ilgpugan(Train("halves", n, "--recipe", recipe)).Code, Is.EqualTo(0));
        var half = Folder.File("halves", RunFolder.CheckpointFile);
        var (code, output, error) = Ilgpugan("train", "--resume", half, "--max-steps", n.ToString());
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain($"at step {n}"));

        var whole = Checkpoint.Read(Folder.File("whole", RunFolder.CheckpointFile));
        var resumed = Checkpoint.Read(half);
        Assert.That(resumed.Header.Step, Is.EqualTo(2 * n));
        Assert.That(resumed.Header.GeneratorAdamStep, Is.EqualTo(whole.Header.GeneratorAdamStep));
        Assert.That(resumed.Tensors.Keys, Is.EquivalentTo(whole.Tensors.Keys));
        Assert.That(whole.Header.Config.GeneratorAverageDecay > 0, Is.EqualTo(whole.Tensors.ContainsKey("G_average.parameters")),
            "the average is kept exactly when the recipe has one");
        foreach (var (name, values) in whole.Tensors)
            Assert.That(resumed.Tensors[name], Is.EqualTo(values), $"{name} is identical");
    }

    [TestCase("seed")]
    [TestCase("stable")]
    public void SampleWritesPngAndIdx(string recipe)
    {
        Assert.That(Ilgpugan(Train("run", 2, "--recipe", recipe)).Code, Is.EqualTo(0));
        var png = Folder.File("s.png");
        var idx = Folder.File("s-idx3-ubyte");
        foreach (var bn in new[] { "train", "eval" })
        {
            var (code, _, error) = Ilgpugan("sample", "--checkpoint", Folder.File("run", RunFolder.CheckpointFile),
                "--count", "10", "--png", png, "--idx", idx, "--bn", bn, "--accelerator", "cpu");
            Assert.That(code, Is.EqualTo(0), error);
            var samples = IdxFile.ReadImages(idx);
            Assert.That((samples.Count, samples.Rows, samples.Columns), Is.EqualTo((10, 28, 28)));
            Assert.That(samples.Pixels.Distinct().Count(), Is.GreaterThan(10), "samples are images, not a constant");
            Assert.That(new FileInfo(png).Length, Is.GreaterThan(100));
        }
    }

    /// <summary>Many samples stream into the IDX file; the PNG grid shows the first 4096, or is not written.</summary>
    [Test]
    public void SampleOfManyCapsTheGridAndCanSkipIt()
    {
        Assert.That(Ilgpugan(Train("run", 1)).Code, Is.EqualTo(0));
        const int count = SampleCommand.MaxGridSamples + 9;
        var png = Folder.File("s.png");
        var idx = Folder.File("s-idx3-ubyte");
        string[] sample = ["sample", "--checkpoint", Folder.File("run", RunFolder.CheckpointFile), "--count", count.ToString(),
            "--idx", idx, "--bn", "eval", "--accelerator", "cpu"];

        var (code, _, error) = Ilgpugan([.. sample, "--no-png"]);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(File.Exists(png), Is.False);
        var streamed = IdxFile.ReadImages(idx);
        Assert.That(streamed.Count, Is.EqualTo(count));

        (code, _, error) = Ilgpugan([.. sample, "--png", png]);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(IdxFile.ReadImages(idx).Pixels, Is.EqualTo(streamed.Pixels), "the same samples, with or without the grid");
        using var full = Images.Grid(new float[SampleCommand.MaxGridSamples * MnistDataset.PixelsPerImage], ImageShape.Mnist, columns: 64);
        var written = SixLabors.ImageSharp.Image.Identify(png);
        Assert.That((written.Width, written.Height), Is.EqualTo((full.Width, full.Height)));
    }

    [Test]
    public void ExplicitOptionsOverrideTheRecipe()
    {
        var (code, _, error) = Ilgpugan(Train("run", 1, "--recipe", "stable", "--lr", "0.001", "--d-dropout", "0.1",
            "--g-widths", "16,24,8", "--d-widths", "40,8"));

        Assert.That(code, Is.EqualTo(0), error);
        var config = Checkpoint.Read(Folder.File("run", RunFolder.CheckpointFile)).Header.Config;
        var stable = Recipes.Config(Recipe.Stable);
        var expected = stable with
        {
            BatchSize = Batch,
            Seed = 11,
            Adam = stable.Adam with { LearningRate = 0.001f },
            DiscriminatorDropout = 0.1f,
            GeneratorWidths = [16, 24, 8],
            DiscriminatorWidths = [40, 8],
        };
        // As JSON, because the header's width lists are new lists, which a record compares by reference.
        Assert.That(JsonSerializer.Serialize(config), Is.EqualTo(JsonSerializer.Serialize(expected)));
    }

    [Test]
    public void HelpListsTheRecipesAndTheirDefaultsExactly()
    {
        var (code, output, _) = Ilgpugan("train", "--help");
        Assert.That(code, Is.EqualTo(0));
        foreach (var recipe in Enum.GetValues<Recipe>())
            Assert.That(output, Does.Contain(CommandArgs.ChoiceName(recipe) + ": " + Recipes.Describe(recipe)));
        Assert.That(output, Does.Contain("Adam learning rate (default: 0.0002,").And.Contain("Adam β1 (default: 0.5,")
            .And.Contain("(default: 8E-09,").And.Contain("one-sided label smoothing) (default: 0.9,").And.Contain("run folder (default: runs/stable)"));
    }

    /// <summary>--help with --recipe shows that recipe's defaults, and says so.</summary>
    [TestCase("seed", Recipe.Reference)]
    [TestCase("stable", Recipe.Stable)]
    public void HelpShowsTheDefaultsOfTheRecipeGiven(string name, Recipe recipe)
    {
        var (code, output, error) = Ilgpugan("train", "--recipe", name, "--help");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain($"Options, with the defaults of --recipe {name}:"));
        var config = Recipes.Config(recipe);
        Assert.That(output, Does.Contain($"Adam β1 (default: {config.Adam.Beta1.ToString(System.Globalization.CultureInfo.InvariantCulture)},")
            .And.Contain($"one-sided label smoothing) (default: {config.RealTarget.ToString(System.Globalization.CultureInfo.InvariantCulture)},")
            .And.Contain($"(default: {string.Join(',', config.DiscriminatorWidths)})")
            .And.Contain($"run folder (default: runs/{name})"));
    }

    /// <summary>Options that would fail a run do not stop its help: `train --resume nowhere --help` is help.</summary>
    [Test]
    public void HelpIsShownWhateverTheOtherArguments()
    {
        var (code, output, error) = Ilgpugan("train", "--resume", Path.Combine(Folder.Path, "nowhere"), "stray", "--epochs", "0", "-h");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.StartWith("Usage: ilgpugan train").And.Contain("Options:"));
    }

    [Test]
    public void InfoListsTheCpuAccelerator()
    {
        var (code, output, _) = Ilgpugan("info");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(output, Does.Contain("Cpu").And.Contain("usable"));
        Assert.That(output, Does.Contain("Cuda"));
    }

    [TestCase("--accelerator", "tpu", "--accelerator")]
    [TestCase("--epochs", "many", "--epochs")]
    [TestCase("--lr", "NaN", "--lr")]
    [TestCase("--batch-size", "1", "--batch-size")]
    [TestCase("--loss", "hinge", "--loss")]
    [TestCase("--recipe", "best", "--recipe")]
    [TestCase("--d-dropout", "1", "--d-dropout")]
    [TestCase("--real-target", "1.5", "--real-target")]
    [TestCase("--d-widths", "256,0", "--d-widths")]
    [TestCase("--g-widths", "128,,256", "--g-widths")]
    public void BadArgumentsAreUsageErrors(string option, string value, string named)
    {
        var (code, _, error) = Ilgpugan("train", "--data", data, "--out", Folder.File("x"), option, value);
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain(named));
    }

    [Test]
    public void MissingDataFileIsNamed()
    {
        // Labels and the test set are optional; the training images are not.
        File.Delete(Path.Combine(data, "train-images-idx3-ubyte"));
        var (code, _, error) = Ilgpugan(Train("run", 2));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("train-images-idx3-ubyte").And.Not.Contain("   at "));
    }

    [Test]
    public void TruncatedImagesAreNamed()
    {
        var path = Path.Combine(data, "train-images-idx3-ubyte");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var (code, _, error) = Ilgpugan(Train("run", 2));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("train-images-idx3-ubyte").And.Contain("truncated"));
    }

    [Test]
    public void CorruptCheckpointIsRejected()
    {
        Assert.That(Ilgpugan(Train("run", 2)).Code, Is.EqualTo(0));
        var checkpoint = Folder.File("run", RunFolder.CheckpointFile);
        var bytes = File.ReadAllBytes(checkpoint);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(checkpoint, bytes);
        var (code, _, error) = Ilgpugan("train", "--resume", checkpoint);
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(checkpoint).And.Contain("corrupt"));

        File.WriteAllBytes(checkpoint, bytes[..1000]);
        (code, _, error) = Ilgpugan("sample", "--checkpoint", checkpoint, "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("truncated or corrupt"));
    }

    /// <summary>A learning rate that blows the weights up: the run stops with a message that says what is kept.</summary>
    [Test]
    public void DivergenceStopsAndSaysWhatIsKept()
    {
        var (code, _, error) = Ilgpugan(Train("run", 4, "--lr", "1e30"));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain("loss is").And.Contain("NaN").Or.Contain("Infinity"));
        Assert.That(error, Does.Contain("no checkpoint had been written yet"), "no checkpoint is claimed before the first");
        Assert.That(File.Exists(Folder.File("run", RunFolder.CheckpointFile)), Is.False);
    }
}

using System.Text.Json;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>The named recipes and their options: the reference is the default config and old checkpoints read as it.</summary>
public sealed class RecipeTests
{
    [Test]
    public void ReferenceRecipeIsTheDefaultConfig()
    {
        Assert.That(Recipes.Config(Recipe.Reference), Is.EqualTo(new GanConfig()));
        Assert.That(Recipes.Describe(Recipe.Reference), Is.EqualTo("the reference's exact recipe"));
    }

    /// <summary>Users know the reference recipe as seed: on the command line and in its run folder.</summary>
    [Test]
    public void ReferenceRecipeIsSpelledSeed()
    {
        Assert.That(CommandArgs.ChoiceName(Recipe.Reference), Is.EqualTo("seed"));
        Assert.That(Recipes.RunFolder(Recipe.Reference), Is.EqualTo("runs/seed"));
        Assert.That(Recipes.RunFolder(Recipe.Stable), Is.EqualTo("runs/stable"));
    }

    /// <summary>A recipe named on the command line is its config, whole: no knob is lost on the way to the run.</summary>
    [Test]
    public void CommandLineOfARecipeGivesItsConfig([Values] Recipe recipe)
    {
        var options = TrainCommand.Read(new CommandArgs("train", ["--recipe", CommandArgs.ChoiceName(recipe)]));

        // As JSON, because each config holds its own width lists, which a record compares by reference.
        Assert.That(JsonSerializer.Serialize(options.Model), Is.EqualTo(JsonSerializer.Serialize(Recipes.Config(recipe))));
        Assert.That(options.OutDir, Is.EqualTo(Recipes.RunFolder(recipe)));
        Assert.That(options.Recipe, Is.EqualTo(recipe));
    }

    /// <summary>The config in the header of a checkpoint written before the recipe knobs existed (runs/cpu-demo's).</summary>
    [Test]
    public void ConfigWrittenBeforeTheKnobsReadsAsTheReference()
    {
        const string json = """{"BatchSize":128,"ZDim":100,"ImagePixels":784,"GeneratorWidths":[128,256,512,1024],"DiscriminatorWidths":[256,128],"Loss":0,"Adam":{"LearningRate":0.0002,"Beta1":0.9,"Beta2":0.999,"Eps":1e-08,"WeightDecay":8e-09},"Seed":0}""";
        var config = JsonSerializer.Deserialize<GanConfig>(json)!;
        Assert.That(config with { GeneratorWidths = Generator.ReferenceWidths, DiscriminatorWidths = Discriminator.ReferenceWidths },
            Is.EqualTo(new GanConfig()));
    }
}

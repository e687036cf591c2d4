using System.Text.Json;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>The named recipes and their options: the seed stays the default and old checkpoints stay the seed.</summary>
public sealed class RecipeTests
{
    [Test]
    public void SeedRecipeIsTheDefaultConfigAndOptions()
    {
        Assert.That(Recipes.Config(Recipe.Reference), Is.EqualTo(new GanConfig()));
        Assert.That(TrainOptions.ForRecipe(Recipe.Reference), Is.EqualTo(new TrainOptions()));
        Assert.That(new TrainOptions().ToGanConfig(), Is.EqualTo(new GanConfig()));
        Assert.That(Recipes.Describe(Recipe.Reference), Is.EqualTo("the reference's exact recipe"));
    }

    /// <summary>Every recipe's options turn back into exactly its config: no knob is lost on the way through the command line.</summary>
    [Test]
    public void OptionsOfARecipeGiveItsConfig([Values] Recipe recipe) =>
        Assert.That(TrainOptions.ForRecipe(recipe).ToGanConfig(), Is.EqualTo(Recipes.Config(recipe)));

    /// <summary>The config in the header of a checkpoint written before the recipe knobs existed (runs/cpu-demo's).</summary>
    [Test]
    public void ConfigWrittenBeforeTheKnobsReadsAsTheSeed()
    {
        const string json = """{"BatchSize":128,"ZDim":100,"ImagePixels":784,"GeneratorWidths":[128,256,512,1024],"DiscriminatorWidths":[256,128],"Loss":0,"Adam":{"LearningRate":0.0002,"Beta1":0.9,"Beta2":0.999,"Eps":1e-08,"WeightDecay":8e-09},"Seed":0}""";
        var config = JsonSerializer.Deserialize<GanConfig>(json)!;
        Assert.That(config with { GeneratorWidths = Generator.ReferenceWidths, DiscriminatorWidths = Discriminator.ReferenceWidths },
            Is.EqualTo(new GanConfig()));
    }
}

using System.Text.Json.Serialization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>Where an import takes its recipe from: File, the config an IlgpuGan export carries (else the reference's); or a recipe by name.</summary>
public enum ImportRecipe { File, [JsonStringEnumMemberName("seed")] Reference, Stable }

/// <summary>What `import` was asked to read and where the run folder goes.</summary>
public sealed record ImportOptions
{
    public string? Safetensors { get; init; }
    public string? DiscriminatorSafetensors { get; init; }
    public string? OutDir { get; init; }
    public ImportRecipe Recipe { get; init; } = ImportRecipe.File;
}

/// <summary>`import`: a PyTorch state_dict of the seed's G (and D) becomes a run folder, for sample, eval and train --resume.</summary>
public static class ImportCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("import", "makes a run folder of a PyTorch state_dict of the seed's generator (and discriminator), for sample, eval and train --resume",
            Read, options => Run(options, output));

    static ImportOptions Read(CommandArgs args) => new()
    {
        Safetensors = args.Path("safetensors", null, "safetensors file of G's state_dict (required)"),
        DiscriminatorSafetensors = args.Path("d-safetensors", null, "safetensors file of D's state_dict (without it D starts from PyTorch's initialisation)"),
        OutDir = args.Path("out", null, "run folder to write its " + RunFolder.CheckpointFile + " into (required)"),
        Recipe = args.Choice("recipe", ImportRecipe.File,
            "training recipe of the run (file: the one an IlgpuGan export carries, else seed); the file's metadata gives z size, widths, tanh and BatchNorm placement when it has them"),
    };

    public static void Run(ImportOptions options, TextWriter output)
    {
        var safetensorsPath = options.Safetensors ?? throw new UsageException("--safetensors is required");
        var outDir = options.OutDir ?? throw new UsageException("--out is required");
        var checkpointPath = Path.Combine(outDir, RunFolder.CheckpointFile);
        if (File.Exists(checkpointPath))
            throw new ArgumentException($"--out: {checkpointPath} exists already; import writes a new run folder");
        var (generatorTensors, metadata) = Model.Interop.Safetensors.Read(safetensorsPath);
        var baseConfig = Recipes.Config(options.Recipe == ImportRecipe.Stable ? Recipe.Stable : Recipe.Reference);
        var config = StateDict.Apply(metadata, baseConfig, useCarriedConfig: options.Recipe == ImportRecipe.File, safetensorsPath);
        var lengths = config.Lengths();
        CheckHolds(generatorTensors, lengths.GeneratorParameters + lengths.GeneratorState, safetensorsPath, "generator");
        var discriminator = options.DiscriminatorSafetensors is { } discriminatorPath
            ? (Path: discriminatorPath, Model.Interop.Safetensors.Read(discriminatorPath).Tensors)
            : default;
        if (discriminator.Path is not null) CheckHolds(discriminator.Tensors, lengths.DiscriminatorParameters, discriminator.Path, "discriminator");

        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        // The batch size sizes only the activations, which an import does not use: the least is built.
        using var gan = new Gan(new KernelSet(device), config with { BatchSize = 2 });
        Initialization.LikePyTorch(gan);
        Load(gan.Generator, generatorTensors, safetensorsPath, "generator");
        if (discriminator.Path is not null) Load(gan.Discriminator, discriminator.Tensors, discriminator.Path, "discriminator");
        gan.StartAverage();
        Directory.CreateDirectory(outDir);
        Checkpoint.Save(checkpointPath, gan, step: 0, config: config);
        output.WriteLine($"wrote {checkpointPath}: G{(options.DiscriminatorSafetensors is null ? "" : " and D")} of {safetensorsPath}, recipe: {Describe(config)}");
    }

    /// <summary>
    /// Refuses a recipe whose network needs far more values than the file holds before the network is built: the sizes
    /// come from the file's metadata, and a hostile one could otherwise ask for gigabytes. A network a little larger
    /// is built, so that <see cref="StateDict.Into"/> names each tensor missing or misshapen.
    /// </summary>
    static void CheckHolds(IReadOnlyDictionary<string, SafeTensor> tensors, long needed, string path, string name)
    {
        long held = tensors.Values.Sum(t => (long)t.Data.Length) / sizeof(float);
        if (needed > 2 * held + (1 << 20))
            throw new CheckpointException($"{path}: the recipe's {name} has {needed} values, the file holds {held}: not the state_dict of this {name}");
    }

    static void Load(Network network, IReadOnlyDictionary<string, SafeTensor> tensors, string path, string name)
    {
        var (parameters, state) = StateDict.Into(network, tensors, path, name);
        network.Store.AllParameters.CopyFromCPU(parameters);
        if (state.Length > 0) network.Store.AllState.CopyFromCPU(state);
    }

    static string Describe(GanConfig config) =>
        $"z {config.ZDim}, G {string.Join('-', config.GeneratorWidths)}, " +
        $"BatchNorm {(config.BatchNormBeforeActivation ? "before" : "after")} LeakyReLU, {(config.TanhOutput ? "tanh" : "no tanh")} on the output" +
        (config.GeneratorAverageDecay > 0 ? $", G's average (decay {config.GeneratorAverageDecay})" : "");
}

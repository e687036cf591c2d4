using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>Where an import takes its recipe from: File, the config an IlgpuGan export carries (else the seed's); or a recipe by name.</summary>
public enum ImportRecipe { File, Seed, Stable }

/// <summary>
/// The `export` and `import` commands: a run's networks as the seed's PyTorch state_dicts in safetensors files and
/// its generator as ONNX, and a PyTorch state_dict back into a run folder.
/// </summary>
public static class Interop
{
    /// <summary>G runs two train-mode forwards per step (D's fake batch and G's own), as the seed's does: PyTorch's num_batches_tracked.</summary>
    const int GeneratorForwardsPerStep = 2;

    public static Command ExportCommand(TextWriter output) => new("export",
        "writes a run's generator (its average when the run keeps one) as safetensors for PyTorch and as ONNX, and its discriminator as safetensors", args =>
        {
            var checkpoint = args.Path("checkpoint", TrainOptions.ForRecipe(Recipes.Default).OutDir, "checkpoint, or a run folder (its " + TrainingRun.CheckpointFile + ")");
            var safetensors = args.Path("safetensors", null, "safetensors file of G's state_dict, as the seed's PyTorch Generator names it");
            var discriminator = args.Path("d-safetensors", null, "safetensors file of D's state_dict");
            var onnx = args.Path("onnx", null, "ONNX file of G for inference: z [N, zDim] → images [N, 784], BatchNorm on the running statistics");
            var raw = args.Flag("raw", "export G itself rather than the exponential average of G that the run keeps");
            return () =>
            {
                if (safetensors is null && discriminator is null && onnx is null)
                    throw new UsageException("nothing to write: give --safetensors, --d-safetensors or --onnx");
                Export(checkpoint, safetensors, discriminator, onnx, raw, output);
                return 0;
            };
        });

    public static Command ImportCommand(TextWriter output) => new("import",
        "makes a run folder of a PyTorch state_dict of the seed's generator (and discriminator), for sample, eval and train --resume", args =>
        {
            var safetensors = args.Path("safetensors", null, "safetensors file of G's state_dict (required)");
            var discriminator = args.Path("d-safetensors", null, "safetensors file of D's state_dict (without it D starts from PyTorch's initialisation)");
            var outDir = args.Path("out", null, "run folder to write its " + TrainingRun.CheckpointFile + " into (required)");
            var recipe = args.Choice("recipe", ImportRecipe.File,
                "training recipe of the run (file: the one an IlgpuGan export carries, else seed); the file's metadata gives z size, widths, tanh and BatchNorm placement when it has them");
            return () =>
            {
                if (safetensors is null) throw new UsageException("--safetensors is required");
                if (outDir is null) throw new UsageException("--out is required");
                Import(safetensors, discriminator, outDir, recipe, output);
                return 0;
            };
        });

    public static void Export(string checkpointPath, string? safetensorsPath, string? discriminatorPath, string? onnxPath,
        bool raw, TextWriter output)
    {
        if (Directory.Exists(checkpointPath)) checkpointPath = Path.Combine(checkpointPath, TrainingRun.CheckpointFile);
        var contents = Checkpoint.Read(checkpointPath);
        var config = contents.Header.Config;
        long step = contents.Header.Step;
        var average = !raw && contents.Tensors.ContainsKey("G_average.parameters");
        var g = average ? "G_average" : "G";
        float[] parameters = contents.Tensors[$"{g}.parameters"], state = contents.Tensors[$"{g}.state"];
        var weights = average ? "average" : "raw";

        // The networks give the tensors' names and shapes: the state itself never goes to the device.
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var gan = new Gan(new KernelSet(device), config);
        if (safetensorsPath is not null)
        {
            Safetensors.Write(safetensorsPath, StateDict.Of(gan.Generator, parameters, state, GeneratorForwardsPerStep * step),
                StateDict.Metadata(config, "generator", weights, step));
            output.WriteLine($"wrote G ({(average ? "its exponential average" : "itself")}) at step {step} to {safetensorsPath}");
        }
        if (discriminatorPath is not null)
        {
            Safetensors.Write(discriminatorPath, StateDict.Of(gan.Discriminator, contents.Tensors["D.parameters"], contents.Tensors["D.state"], 0),
                StateDict.Metadata(config, "discriminator", "raw", step));
            output.WriteLine($"wrote D at step {step} to {discriminatorPath}");
        }
        if (onnxPath is not null)
        {
            OnnxGenerator.Write(onnxPath, OnnxGenerator.Build(gan.Generator, parameters, state,
                StateDict.Metadata(config, "generator", weights, step)));
            output.WriteLine($"wrote G ({(average ? "its exponential average" : "itself")}) at step {step} as ONNX (opset {OnnxGenerator.Opset}) to {onnxPath}");
        }
    }

    public static void Import(string safetensorsPath, string? discriminatorPath, string outDir, ImportRecipe recipe, TextWriter output)
    {
        var checkpointPath = Path.Combine(outDir, TrainingRun.CheckpointFile);
        if (File.Exists(checkpointPath))
            throw new ArgumentException($"--out: {checkpointPath} exists already; import writes a new run folder");
        var (generatorTensors, metadata) = Safetensors.Read(safetensorsPath);
        var baseConfig = recipe switch
        {
            ImportRecipe.Stable => Recipes.Config(Recipe.Stable),
            _ => Recipes.Config(Recipe.Seed),
        };
        var config = StateDict.Apply(metadata, baseConfig, useCarriedConfig: recipe == ImportRecipe.File, safetensorsPath);

        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var gan = new Gan(new KernelSet(device), config);
        Initialization.LikePyTorch(gan);
        Load(gan.Generator, generatorTensors, safetensorsPath, "generator");
        if (discriminatorPath is not null) Load(gan.Discriminator, Safetensors.Read(discriminatorPath).Tensors, discriminatorPath, "discriminator");
        gan.StartAverage();
        Checkpoint.Save(checkpointPath, gan, step: 0);
        output.WriteLine($"wrote {checkpointPath}: G{(discriminatorPath is null ? "" : " and D")} of {safetensorsPath}, recipe: {Describe(config)}");
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

using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `export` was asked to write.</summary>
public sealed record ExportOptions
{
    public string Checkpoint { get; init; } = Recipes.RunFolder(Recipes.Default);
    public string? Safetensors { get; init; }
    public string? DiscriminatorSafetensors { get; init; }
    public string? Onnx { get; init; }
    public bool Raw { get; init; }
}

/// <summary>
/// `export`: a run's generator (its exponential average when the run keeps one, unless --raw) as the seed's PyTorch
/// state_dict in a safetensors file and as ONNX for inference, and its discriminator as a safetensors file.
/// </summary>
public static class ExportCommand
{
    /// <summary>G runs two train-mode forwards per step (D's fake batch and G's own), as the seed's does: PyTorch's num_batches_tracked.</summary>
    const int GeneratorForwardsPerStep = 2;

    public static Command Create(TextWriter output) =>
        Command.Of("export", "writes a run's generator (its average when the run keeps one) as safetensors for PyTorch and as ONNX, and its discriminator as safetensors",
            Read, options => Run(options, output));

    static ExportOptions Read(CommandArgs args)
    {
        var defaults = new ExportOptions();
        return new ExportOptions
        {
            Checkpoint = args.Path("checkpoint", defaults.Checkpoint, "checkpoint, or a run folder (its " + RunFolder.CheckpointFile + ")"),
            Safetensors = args.Path("safetensors", null, "safetensors file of G's state_dict, as the seed's PyTorch Generator names it"),
            DiscriminatorSafetensors = args.Path("d-safetensors", null, "safetensors file of D's state_dict"),
            Onnx = args.Path("onnx", null, "ONNX file of G for inference: z [N, zDim] → images [N, C·H·W], BatchNorm on the running statistics"),
            Raw = args.Flag("raw", "export G itself rather than the exponential average of G that the run keeps"),
        };
    }

    public static void Run(ExportOptions options, TextWriter output)
    {
        if (options.Safetensors is null && options.DiscriminatorSafetensors is null && options.Onnx is null)
            throw new UsageException("nothing to write: give --safetensors, --d-safetensors or --onnx");
        var checkpointPath = RunFolder.CheckpointOf(options.Checkpoint);
        OutputPath.Check("safetensors", options.Safetensors, checkpointPath);
        OutputPath.Check("d-safetensors", options.DiscriminatorSafetensors, checkpointPath);
        OutputPath.Check("onnx", options.Onnx, checkpointPath);
        var contents = Checkpoint.Read(checkpointPath);
        var config = contents.Header.Config;
        long step = contents.Header.Step;
        var average = !options.Raw && contents.Tensors.ContainsKey("G_average.parameters");
        var g = average ? "G_average" : "G";
        float[] parameters = contents.Tensors[$"{g}.parameters"], state = contents.Tensors[$"{g}.state"];
        var weights = average ? "average" : "raw";
        var which = average ? "its exponential average" : "itself";

        // The networks give the tensors' names and shapes: the state itself never goes to the device, and the batch
        // size, which sizes only the activations, is the least.
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var gan = new Gan(new KernelSet(device), config with { BatchSize = 2 });
        if (options.Safetensors is { } safetensors)
        {
            Model.Interop.Safetensors.Write(safetensors, StateDict.Of(gan.Generator, parameters, state, GeneratorForwardsPerStep * step),
                StateDict.Metadata(config, "generator", weights, step));
            output.WriteLine($"wrote G ({which}) at step {step} to {safetensors}");
        }
        if (options.DiscriminatorSafetensors is { } discriminator)
        {
            Model.Interop.Safetensors.Write(discriminator, StateDict.Of(gan.Discriminator, contents.Tensors["D.parameters"], contents.Tensors["D.state"], 0),
                StateDict.Metadata(config, "discriminator", "raw", step));
            output.WriteLine($"wrote D at step {step} to {discriminator}");
        }
        if (options.Onnx is { } onnx)
        {
            OnnxGenerator.Write(onnx, OnnxGenerator.Build(gan.Generator, parameters, state, StateDict.Metadata(config, "generator", weights, step)));
            output.WriteLine($"wrote G ({which}) at step {step} as ONNX (opset {OnnxGenerator.Opset}) to {onnx}");
        }
    }
}

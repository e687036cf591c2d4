using System.Text.Json;
using ILGPU.Runtime;

namespace IlgpuGan.Model;

/// <summary>A checkpoint that cannot be used: the message names the file and the problem.</summary>
public sealed class CheckpointException(string message) : Exception(message);

/// <summary>
/// Everything needed to continue a run bit for bit: both networks' parameters, Adam moments and step
/// counts, BatchNorm running statistics, the step reached and the config. The generator is counter-based,
/// so (seed, step) is its whole state. Stored as a <see cref="TensorFile"/>.
/// </summary>
public static class Checkpoint
{
    const string Magic = "IGGANCK1";
    public const int Version = 1;

    /// <summary>The JSON part. RunOptions is the trainer's own settings, kept verbatim.</summary>
    public sealed record Header(int Version, GanConfig Config, long Step, int GeneratorAdamStep,
        int DiscriminatorAdamStep, Dictionary<string, int> TensorLengths, JsonElement? RunOptions);

    static IEnumerable<(string Name, ArrayView<float> View)> Tensors(Gan gan) =>
        new (string, Network)[] { ("G", gan.Generator), ("D", gan.Discriminator) }.SelectMany(n => new[]
        {
            ($"{n.Item1}.parameters", n.Item2.Store.AllParameters),
            ($"{n.Item1}.adam_m", n.Item2.Store.AllAdamM),
            ($"{n.Item1}.adam_v", n.Item2.Store.AllAdamV),
            ($"{n.Item1}.state", n.Item2.Store.AllState),
        }).Concat(gan.AverageGenerator is { } average
            // No optimiser trains G's average: it keeps its parameters and running statistics only.
            ? [("G_average.parameters", average.Store.AllParameters), ("G_average.state", average.Store.AllState)]
            : []);

    public static void Save(string path, Gan gan, long step, JsonElement? runOptions = null)
    {
        var tensors = Tensors(gan).Select(t => (t.Name, Values: t.View.GetAsArray())).ToList();
        var header = new Header(Version, gan.Config, step, gan.Generator.Store.AdamStep,
            gan.Discriminator.Store.AdamStep, TensorFile.Lengths(tensors), runOptions);
        TensorFile.Write(path, Magic, Version, header, tensors);
    }

    /// <summary>A checkpoint read and verified, not yet on a device.</summary>
    public sealed record Contents(Header Header, Dictionary<string, float[]> Tensors);

    public static Contents Read(string path)
    {
        var (header, tensors) = TensorFile.Read<Header>(path, Magic, Version, "checkpoint",
            h => h.Config is null ? null : h.TensorLengths, "the config or the tensor list");
        if (Invalid(header) is { } problem) throw new CheckpointException($"{path}: {problem}");
        return new Contents(header, tensors);
    }

    /// <summary>The first header field outside the range a run can have, or null: the checksum vouches for the bytes, not for the writer.</summary>
    static string? Invalid(Header header)
    {
        var config = header.Config;
        return header.Step < 0 ? $"step {header.Step} is negative"
            : header.GeneratorAdamStep < 0 || header.DiscriminatorAdamStep < 0
                ? $"Adam steps {header.GeneratorAdamStep} and {header.DiscriminatorAdamStep} include a negative one"
            : config.BatchSize < 2 ? $"batch size {config.BatchSize} is less than 2"
            : config.ZDim < 1 ? $"z dimension {config.ZDim} is less than 1"
            : config.ImagePixels < 1 ? $"{config.ImagePixels} pixels per image"
            : config.GeneratorWidths is null || config.DiscriminatorWidths is null
                || config.GeneratorWidths.Concat(config.DiscriminatorWidths).Any(w => w < 1)
                ? "a layer width is missing or less than 1"
            : !(config.RealTarget is >= 0.5f and <= 1f) ? $"real target {config.RealTarget} is outside [0.5, 1]"
            : !(config.DiscriminatorDropout is >= 0f and < 1f) ? $"dropout {config.DiscriminatorDropout} is outside [0, 1)"
            : !(config.GeneratorAverageDecay is >= 0 and < 1) ? $"G average decay {config.GeneratorAverageDecay} is outside [0, 1)"
            : config.LearningRateDecayFrom < 0 || config.LearningRateDecayTo < 0
                ? $"learning-rate decay epochs {config.LearningRateDecayFrom} to {config.LearningRateDecayTo} include a negative one"
            : !float.IsFinite(config.Adam.LearningRate) || config.Adam.LearningRate < 0
                ? $"learning rate {config.Adam.LearningRate} is not a non-negative number"
            : null;
    }

    /// <summary>Puts a checkpoint's state into a GAN built with the same config; returns the step reached.</summary>
    public static long Restore(Contents contents, Gan gan, string path)
    {
        foreach (var (name, view) in Tensors(gan))
        {
            if (!contents.Tensors.TryGetValue(name, out var values))
                throw new CheckpointException($"{path}: no tensor {name}");
            if (values.Length != view.Length)
                throw new CheckpointException(
                    $"{path}: {name} has {values.Length} values, this model needs {view.Length}: the checkpoint is of another architecture");
            if (values.Length > 0) view.CopyFromCPU(values);
        }
        gan.Generator.Store.AdamStep = contents.Header.GeneratorAdamStep;
        gan.Discriminator.Store.AdamStep = contents.Header.DiscriminatorAdamStep;
        return contents.Header.Step;
    }
}

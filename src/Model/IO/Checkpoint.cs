using System.Text.Json;
using ILGPU.Runtime;

namespace IlgpuGan.Model.IO;

/// <summary>A checkpoint that cannot be used: the message names the file and the problem.</summary>
public sealed class CheckpointException(string message) : IlgpuGanException(message);

/// <summary>
/// Everything needed to continue a run bit for bit: both networks' parameters, Adam moments and step
/// counts, BatchNorm running statistics, the step reached and the config. The generator is counter-based,
/// so (seed, step) is its whole state. Stored as a <see cref="TensorFile"/>.
/// </summary>
public static class Checkpoint
{
    const string Magic = "IGGANCK1";
    /// <summary>The format version this code writes and reads.</summary>
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

    /// <summary>
    /// Writes the state of <paramref name="gan"/>; <paramref name="config"/>, when given, is recorded instead of the GAN's
    /// own: that of a GAN built with the least batch only to hold the state, the batch sizing nothing but activations.
    /// </summary>
    public static void Save(string path, Gan gan, long step, JsonElement? runOptions = null, GanConfig? config = null)
    {
        var tensors = Tensors(gan).Select(t => (t.Name, Values: t.View.GetAsArray())).ToList();
        var header = new Header(Version, config ?? gan.Config, step, gan.Generator.Store.AdamStep,
            gan.Discriminator.Store.AdamStep, TensorFile.Lengths(tensors), runOptions);
        TensorFile.Write(path, Magic, Version, header, tensors);
    }

    /// <summary>A checkpoint read and verified, not yet on a device.</summary>
    public sealed record Contents(Header Header, Dictionary<string, float[]> Tensors);

    /// <summary>Reads and verifies the checkpoint at <paramref name="path"/>; throws <see cref="CheckpointException"/> naming the problem.</summary>
    public static Contents Read(string path)
    {
        var (header, tensors) = TensorFile.Read<Header>(path, Magic, Version, "checkpoint", Invalid, h => h.TensorLengths);
        return new Contents(header, tensors);
    }

    /// <summary>
    /// The first header field outside the range a run can have, or null: the checksum vouches for the bytes, not for the
    /// writer. The tensor list must be exactly what the config's networks hold, so nothing is allocated for a size
    /// the config does not imply.
    /// </summary>
    static string? Invalid(Header header)
    {
        if (header.Config is null || header.TensorLengths is null) return "the header lacks the config or the tensor list";
        if (header.Step < 0) return $"step {header.Step} is negative";
        if (header.GeneratorAdamStep < 0 || header.DiscriminatorAdamStep < 0)
            return $"Adam steps {header.GeneratorAdamStep} and {header.DiscriminatorAdamStep} include a negative one";
        if (header.Config.Problem() is { } problem) return problem;
        var expected = ExpectedLengths(header.Config);
        foreach (var (name, length) in header.TensorLengths)
            if (!expected.TryGetValue(name, out var needed)) return $"unexpected tensor {Printable.Escape(name)}";
            else if (length != needed) return $"{name} has {length} values, the config's networks hold {needed}";
        return expected.Keys.FirstOrDefault(name => !header.TensorLengths.ContainsKey(name)) is { } missing
            ? $"no tensor {missing}"
            : null;
    }

    /// <summary>The length of every tensor <see cref="Save"/> writes for a GAN of <paramref name="config"/>, whose sizes are in range.</summary>
    static Dictionary<string, long> ExpectedLengths(GanConfig config)
    {
        var lengths = config.Lengths();
        var expected = new Dictionary<string, long>();
        foreach (var (network, parameters, state) in new[]
                 {
                     ("G", lengths.GeneratorParameters, lengths.GeneratorState), ("D", lengths.DiscriminatorParameters, 0L),
                 })
        {
            foreach (var name in new[] { "parameters", "adam_m", "adam_v" }) expected[$"{network}.{name}"] = parameters;
            expected[$"{network}.state"] = state;
        }
        if (config.GeneratorAverageDecay > 0)
        {
            expected["G_average.parameters"] = lengths.GeneratorParameters;
            expected["G_average.state"] = lengths.GeneratorState;
        }
        return expected;
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

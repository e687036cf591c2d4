using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ILGPU.Runtime;

namespace IlgpuGan.Model;

/// <summary>A checkpoint that cannot be used: the message names the file and the problem.</summary>
public sealed class CheckpointException(string message) : Exception(message);

/// <summary>
/// Everything needed to continue a run bit for bit: both networks' parameters, Adam moments and step
/// counts, BatchNorm running statistics, the step reached and the config. The generator is counter-based,
/// so (seed, step) is its whole state. Layout: magic, version, a JSON header, the float32 tensors, and a
/// SHA-256 of all that precedes it. Written to a temporary file and renamed, so an interrupted save never
/// destroys the previous checkpoint.
/// </summary>
public static class Checkpoint
{
    const string Magic = "IGGANCK1";
    public const int Version = 1;

    /// <summary>The JSON part. RunOptions is the trainer's own settings, kept verbatim.</summary>
    public sealed record Header(int Version, GanConfig Config, long Step, int GeneratorAdamStep,
        int DiscriminatorAdamStep, Dictionary<string, int> TensorLengths, JsonElement? RunOptions);

    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

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
            gan.Discriminator.Store.AdamStep, tensors.ToDictionary(t => t.Name, t => t.Values.Length), runOptions);
        var body = new MemoryStream();
        using (var writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Encoding.ASCII.GetBytes(Magic));
            writer.Write(Version);
            var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
            writer.Write(json.Length);
            writer.Write(json);
            foreach (var (_, values) in tensors)
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        }
        var hash = SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length));
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            body.Position = 0;
            body.CopyTo(file);
            file.Write(hash);
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>A checkpoint read and verified, not yet on a device.</summary>
    public sealed record Contents(Header Header, Dictionary<string, float[]> Tensors);

    public static Contents Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot read checkpoint ({e.Message})");
        }
        if (bytes.Length < Magic.Length + 8 + SHA256.HashSizeInBytes || Encoding.ASCII.GetString(bytes, 0, Magic.Length) != Magic)
            throw new CheckpointException($"{path}: not an IlgpuGan checkpoint");
        int bodyLength = bytes.Length - SHA256.HashSizeInBytes;
        if (!SHA256.HashData(bytes.AsSpan(0, bodyLength)).AsSpan().SequenceEqual(bytes.AsSpan(bodyLength)))
            throw new CheckpointException($"{path}: checksum mismatch: the file is truncated or corrupt");
        int version = BitConverter.ToInt32(bytes, Magic.Length);
        if (version != Version)
            throw new CheckpointException($"{path}: checkpoint version {version}, this build reads version {Version}");
        int jsonLength = BitConverter.ToInt32(bytes, Magic.Length + 4);
        int offset = Magic.Length + 8;
        if (jsonLength < 0 || offset + (long)jsonLength > bodyLength)
            throw new CheckpointException($"{path}: header runs past the end of the file");
        Header? header;
        try { header = JsonSerializer.Deserialize<Header>(bytes.AsSpan(offset, jsonLength), Json); }
        catch (JsonException e) { throw new CheckpointException($"{path}: unreadable header ({e.Message})"); }
        if (header?.Config is null || header.TensorLengths is null)
            throw new CheckpointException($"{path}: the header lacks the config or the tensor list");
        offset += jsonLength;
        var tensors = new Dictionary<string, float[]>();
        foreach (var (name, length) in header.TensorLengths)
        {
            if (length < 0 || offset + 4L * length > bodyLength)
                throw new CheckpointException($"{path}: tensor {name} runs past the end of the file");
            var values = new float[length];
            Buffer.BlockCopy(bytes, offset, values, 0, 4 * length);
            tensors[name] = values;
            offset += 4 * length;
        }
        if (offset != bodyLength) throw new CheckpointException($"{path}: {bodyLength - offset} unexpected bytes after the tensors");
        return new Contents(header, tensors);
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

using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace IlgpuGan.Model;

/// <summary>
/// The file layout of checkpoints and of the classifier: magic, version, a JSON header, float32 tensors in
/// the order the header lists them, and a SHA-256 of all that precedes it. Written by <see cref="AtomicFile"/>,
/// so an interrupted save never destroys the previous file.
/// </summary>
public static class TensorFile
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>The tensors' names and lengths in file order, as a header records them.</summary>
    public static Dictionary<string, int> Lengths(IEnumerable<(string Name, float[] Values)> tensors) =>
        tensors.ToDictionary(t => t.Name, t => t.Values.Length);

    public static void Write<THeader>(string path, string magic, int version, THeader header,
        IReadOnlyList<(string Name, float[] Values)> tensors)
    {
        var body = new MemoryStream();
        using (var writer = new BinaryWriter(body, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Encoding.ASCII.GetBytes(magic));
            writer.Write(version);
            var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
            writer.Write(json.Length);
            writer.Write(json);
            foreach (var (_, values) in tensors)
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
        }
        var hash = SHA256.HashData(body.GetBuffer().AsSpan(0, (int)body.Length));
        AtomicFile.Write(path, file =>
        {
            body.Position = 0;
            body.CopyTo(file);
            file.Write(hash);
        });
    }

    /// <summary>
    /// Reads and verifies a file written by <see cref="Write"/>. <paramref name="kind"/> names the file in
    /// messages ("checkpoint"); <paramref name="tensorLengths"/> gives the header's tensor list, or null when
    /// the header lacks what the kind needs, named by <paramref name="requiredFields"/>.
    /// </summary>
    public static (THeader Header, Dictionary<string, float[]> Tensors) Read<THeader>(string path, string magic, int version,
        string kind, Func<THeader, IReadOnlyDictionary<string, int>?> tensorLengths, string requiredFields)
    {
        int least = magic.Length + 8 + SHA256.HashSizeInBytes;
        byte[] bytes;
        try
        {
            long length = RegularFile.Length(path, least, $"an IlgpuGan {kind}");
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var start = new byte[magic.Length];
            file.ReadExactly(start);
            // The magic number first, so that a large file of another kind is refused before it is read whole.
            if (Encoding.ASCII.GetString(start) != magic) throw new CheckpointException($"{path}: not an IlgpuGan {kind}");
            if (length > Array.MaxLength) throw new CheckpointException($"{path}: {length} bytes, more than an IlgpuGan {kind} holds");
            bytes = new byte[length];
            start.CopyTo(bytes, 0);
            file.ReadExactly(bytes.AsSpan(magic.Length));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(e.Message.StartsWith(path, StringComparison.Ordinal)
                ? e.Message
                : $"{path}: cannot read {kind} ({e.Message})");
        }
        int bodyLength = bytes.Length - SHA256.HashSizeInBytes;
        if (!SHA256.HashData(bytes.AsSpan(0, bodyLength)).AsSpan().SequenceEqual(bytes.AsSpan(bodyLength)))
            throw new CheckpointException($"{path}: checksum mismatch: the file is truncated or corrupt");
        int fileVersion = BitConverter.ToInt32(bytes, magic.Length);
        if (fileVersion != version)
            throw new CheckpointException($"{path}: {kind} version {fileVersion}, this build reads version {version}");
        int jsonLength = BitConverter.ToInt32(bytes, magic.Length + 4);
        int offset = magic.Length + 8;
        if (jsonLength < 0 || offset + (long)jsonLength > bodyLength)
            throw new CheckpointException($"{path}: header runs past the end of the file");
        THeader? header;
        try { header = JsonSerializer.Deserialize<THeader>(bytes.AsSpan(offset, jsonLength), Json); }
        catch (JsonException e) { throw new CheckpointException($"{path}: unreadable header ({e.Message})"); }
        var lengths = header is null ? null : tensorLengths(header);
        if (lengths is null) throw new CheckpointException($"{path}: the header lacks {requiredFields}");
        offset += jsonLength;
        var tensors = new Dictionary<string, float[]>();
        foreach (var (name, length) in lengths)
        {
            if (length < 0 || offset + 4L * length > bodyLength)
                throw new CheckpointException($"{path}: tensor {name} runs past the end of the file");
            var values = new float[length];
            Buffer.BlockCopy(bytes, offset, values, 0, 4 * length);
            tensors[name] = values;
            offset += 4 * length;
        }
        if (offset != bodyLength) throw new CheckpointException($"{path}: {bodyLength - offset} unexpected bytes after the tensors");
        return (header!, tensors);
    }
}

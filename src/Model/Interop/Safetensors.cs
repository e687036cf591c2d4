using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IlgpuGan.Model.Interop;

/// <summary>One tensor of a safetensors file: its dtype as the format spells it ("F32", "I64"), shape and little-endian bytes.</summary>
public sealed record SafeTensor(string Dtype, long[] Shape, byte[] Data)
{
    /// <summary>A float32 tensor of <paramref name="values"/> with <paramref name="shape"/>.</summary>
    public static SafeTensor Float32(ReadOnlySpan<float> values, IEnumerable<int> shape) =>
        new("F32", shape.Select(d => (long)d).ToArray(), MemoryMarshal.AsBytes(values).ToArray());

    /// <summary>A scalar int64 tensor, as PyTorch's num_batches_tracked.</summary>
    public static SafeTensor Int64Scalar(long value) => new("I64", [], BitConverter.GetBytes(value));

    /// <summary>A float32 tensor's values.</summary>
    public float[] ToFloats() => MemoryMarshal.Cast<byte, float>(Data).ToArray();

    /// <summary>The shape as text, [a, b].</summary>
    public string ShapeText => $"[{string.Join(", ", Shape)}]";
}

/// <summary>
/// The safetensors format of Hugging Face's safetensors library, which PyTorch users load state_dicts from: a u64
/// little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__":
/// {string: string}}, then the tensors' bytes, offsets counted from the end of the header. As the library does, the
/// header is padded with spaces to a multiple of 8 bytes and the tensors are packed in order with no gaps.
/// </summary>
public static class Safetensors
{
    const string MetadataKey = "__metadata__";

    static readonly Dictionary<string, int> DtypeSizes = new()
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E4M3"] = 1, ["F8_E5M2"] = 1, ["I16"] = 2, ["U16"] = 2, ["F16"] = 2,
        ["BF16"] = 2, ["I32"] = 4, ["U32"] = 4, ["F32"] = 4, ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    /// <summary>Writes <paramref name="tensors"/> and <paramref name="metadata"/> to <paramref name="path"/> in the safetensors format.</summary>
    public static void Write(string path, IReadOnlyList<(string Name, SafeTensor Tensor)> tensors,
        IReadOnlyDictionary<string, string> metadata)
    {
        var json = new MemoryStream();
        // Relaxed escaping: the config's JSON in the metadata stays readable (\" rather than \u0022).
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteStartObject(MetadataKey);
            foreach (var (key, value) in metadata) writer.WriteString(key, value);
            writer.WriteEndObject();
            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                writer.WriteStartObject(name);
                writer.WriteString("dtype", tensor.Dtype);
                writer.WriteStartArray("shape");
                foreach (var d in tensor.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset += tensor.Data.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        while (json.Length % 8 != 0) json.WriteByte((byte)' ');
        AtomicFile.Write(path, file =>
        {
            file.Write(BitConverter.GetBytes((ulong)json.Length));
            json.Position = 0;
            json.CopyTo(file);
            foreach (var (_, tensor) in tensors) file.Write(tensor.Data);
        });
    }

    /// <summary>The most bytes a header may have: the safetensors library's own limit.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>
    /// Reads and checks a safetensors file as the safetensors library does: a regular file, a header within the
    /// library's limit, each name once, each tensor's byte range as long as its dtype and shape need, and the ranges
    /// tiling the data that follows the header exactly, with no overlap, gap or trailing byte. Nothing is allocated
    /// beyond what the file holds. The message of a <see cref="CheckpointException"/> names the file and what is wrong.
    /// </summary>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        try
        {
            long length = RegularFile.Length(path, 8, "a safetensors file");
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            var prefix = new byte[8];
            file.ReadExactly(prefix);
            ulong headerLength = BitConverter.ToUInt64(prefix);
            if (headerLength > (ulong)(length - 8))
                throw new CheckpointException(
                    $"{path}: the header length {headerLength} runs past the end of the file ({length - 8} bytes follow it): truncated, or not a safetensors file");
            if (headerLength > MaxHeaderBytes)
                throw new CheckpointException($"{path}: a header of {headerLength} bytes, more than the {MaxHeaderBytes} the format allows");
            var json = new byte[headerLength];
            file.ReadExactly(json);
            long dataLength = length - 8 - (long)headerLength;
            var (entries, metadata) = ParseHeader(path, json, dataLength);
            var tensors = new Dictionary<string, SafeTensor>();
            // The ranges tile the data in file order, so the bytes are read straight through.
            foreach (var (name, dtype, shape, begin, end) in entries.OrderBy(e => e.Begin))
            {
                var data = new byte[end - begin];
                file.ReadExactly(data);
                tensors[name] = new SafeTensor(dtype, shape, data);
            }
            return (tensors, metadata);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(e.Message.StartsWith(path, StringComparison.Ordinal)
                ? e.Message
                : $"{path}: cannot read the safetensors file ({e.Message})");
        }
    }

    /// <summary>The header's tensors, their byte ranges checked against <paramref name="dataLength"/>, and its metadata.</summary>
    static (List<(string Name, string Dtype, long[] Shape, long Begin, long End)> Entries, Dictionary<string, string> Metadata)
        ParseHeader(string path, byte[] json, long dataLength)
    {
        var entries = new List<(string Name, string Dtype, long[] Shape, long Begin, long End)>();
        var metadata = new Dictionary<string, string>();
        var names = new HashSet<string>();
        try
        {
            using var header = JsonDocument.Parse(json);
            if (header.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the header is not a JSON object");
            foreach (var entry in header.RootElement.EnumerateObject())
            {
                if (!names.Add(entry.Name)) throw new CheckpointException($"{path}: {Printable.Escape(entry.Name)} is in the header twice");
                if (entry.Name == MetadataKey)
                {
                    var keys = new HashSet<string>();
                    foreach (var item in entry.Value.EnumerateObject())
                        metadata[item.Name] = !keys.Add(item.Name)
                            ? throw new CheckpointException($"{path}: metadata {Printable.Escape(item.Name)} is given twice")
                            : item.Value.ValueKind == JsonValueKind.String
                                ? item.Value.GetString()!
                                : throw new CheckpointException($"{path}: metadata {Printable.Escape(item.Name)} is not a string, as the format requires");
                    continue;
                }
                entries.Add(ReadEntry(path, entry.Name, entry.Value, dataLength));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException
                                      or ArgumentException)
        {
            throw new CheckpointException($"{path}: unreadable safetensors header ({Printable.Escape(e.Message)})");
        }
        long covered = 0;
        foreach (var (name, _, _, begin, end) in entries.OrderBy(e => e.Begin))
        {
            if (begin != covered)
                throw new CheckpointException(begin < covered
                    ? $"{path}: tensor {Printable.Escape(name)} overlaps the tensor before it (bytes {begin} to {end}, the one before ends at {covered})"
                    : $"{path}: bytes {covered} to {begin} of the data belong to no tensor");
            covered = end;
        }
        if (covered != dataLength)
            throw new CheckpointException($"{path}: {dataLength - covered} bytes after the last tensor's data");
        return (entries, metadata);
    }

    static (string Name, string Dtype, long[] Shape, long Begin, long End) ReadEntry(string path, string name, JsonElement entry,
        long dataLength)
    {
        var quoted = Printable.Escape(name);
        var dtype = entry.GetProperty("dtype").GetString() ?? "";
        if (!DtypeSizes.TryGetValue(dtype, out int size))
            throw new CheckpointException($"{path}: tensor {quoted} has the unknown dtype '{Printable.Escape(dtype)}'");
        var shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (shape.Any(d => d < 0)) throw new CheckpointException($"{path}: tensor {quoted} has a negative dimension");
        var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
            throw new CheckpointException($"{path}: tensor {quoted} has ill-formed data_offsets");
        if (offsets[1] > dataLength)
            throw new CheckpointException(
                $"{path}: tensor {quoted} ends at byte {offsets[1]} of the data, past the end of the file ({dataLength} bytes of data): the file is truncated");
        // Bounded by the data's length, so a shape whose product overflows is refused before it wraps.
        long bytes = size;
        foreach (var d in shape)
            if (d != 0 && bytes > dataLength / d)
                throw new CheckpointException($"{path}: tensor {quoted} ({dtype} [{string.Join(", ", shape)}]) needs more bytes than the file holds");
            else bytes *= d;
        if (offsets[1] - offsets[0] != bytes)
            throw new CheckpointException(
                $"{path}: tensor {quoted} ({dtype} [{string.Join(", ", shape)}]) needs {bytes} bytes, its data_offsets give {offsets[1] - offsets[0]}");
        if (bytes > Array.MaxLength) throw new CheckpointException($"{path}: tensor {quoted} has {bytes} bytes, more than one array holds");
        return (name, dtype, shape, offsets[0], offsets[1]);
    }
}

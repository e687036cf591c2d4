using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace IlgpuGan.Model;

/// <summary>One tensor of a safetensors file: its dtype as the format spells it ("F32", "I64"), shape and little-endian bytes.</summary>
public sealed record SafeTensor(string Dtype, long[] Shape, byte[] Data)
{
    public static SafeTensor Float32(ReadOnlySpan<float> values, IEnumerable<int> shape) =>
        new("F32", shape.Select(d => (long)d).ToArray(), MemoryMarshal.AsBytes(values).ToArray());

    public static SafeTensor Int64Scalar(long value) => new("I64", [], BitConverter.GetBytes(value));

    public float[] ToFloats() => MemoryMarshal.Cast<byte, float>(Data).ToArray();

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
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Environment.ProcessId}.tmp");
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            file.Write(BitConverter.GetBytes((ulong)json.Length));
            json.Position = 0;
            json.CopyTo(file);
            foreach (var (_, tensor) in tensors) file.Write(tensor.Data);
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Reads and checks a safetensors file; the message of a <see cref="CheckpointException"/> names the file and what is wrong.</summary>
    public static (Dictionary<string, SafeTensor> Tensors, Dictionary<string, string> Metadata) Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException($"{path}: cannot read the safetensors file ({e.Message})");
        }
        if (bytes.Length < 8)
            throw new CheckpointException($"{path}: {bytes.Length} bytes, too short for a safetensors file's 8-byte header length");
        ulong headerLength = BitConverter.ToUInt64(bytes, 0);
        if (headerLength > (ulong)(bytes.Length - 8))
            throw new CheckpointException(
                $"{path}: the header length {headerLength} runs past the end of the file ({bytes.Length - 8} bytes follow it): truncated, or not a safetensors file");
        int dataStart = 8 + (int)headerLength;
        var tensors = new Dictionary<string, SafeTensor>();
        var metadata = new Dictionary<string, string>();
        try
        {
            using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
            if (header.RootElement.ValueKind != JsonValueKind.Object) throw new JsonException("the header is not a JSON object");
            foreach (var entry in header.RootElement.EnumerateObject())
            {
                if (entry.Name == MetadataKey)
                {
                    foreach (var item in entry.Value.EnumerateObject())
                        metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                            ? item.Value.GetString()!
                            : throw new CheckpointException($"{path}: metadata {item.Name} is not a string, as the format requires");
                    continue;
                }
                tensors[entry.Name] = ReadTensor(path, entry.Name, entry.Value, bytes, dataStart);
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or KeyNotFoundException)
        {
            throw new CheckpointException($"{path}: unreadable safetensors header ({e.Message})");
        }
        return (tensors, metadata);
    }

    static SafeTensor ReadTensor(string path, string name, JsonElement entry, byte[] bytes, int dataStart)
    {
        var dtype = entry.GetProperty("dtype").GetString() ?? "";
        if (!DtypeSizes.TryGetValue(dtype, out int size))
            throw new CheckpointException($"{path}: tensor {name} has the unknown dtype '{dtype}'");
        var shape = entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (shape.Any(d => d < 0)) throw new CheckpointException($"{path}: tensor {name} has a negative dimension");
        var offsets = entry.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0])
            throw new CheckpointException($"{path}: tensor {name} has ill-formed data_offsets");
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (offsets[1] - offsets[0] != count * size)
            throw new CheckpointException(
                $"{path}: tensor {name} ({dtype} [{string.Join(", ", shape)}]) needs {count * size} bytes, its data_offsets give {offsets[1] - offsets[0]}");
        if (dataStart + offsets[1] > bytes.Length)
            throw new CheckpointException(
                $"{path}: tensor {name} ends at byte {dataStart + offsets[1]}, past the end of the file ({bytes.Length} bytes): the file is truncated");
        return new SafeTensor(dtype, shape, bytes.AsSpan(dataStart + (int)offsets[0], (int)(offsets[1] - offsets[0])).ToArray());
    }
}

using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace IlgpuGan.Model.IO;

/// <summary>
/// The file layout of checkpoints and of the classifier: magic, version, a JSON header, float32 tensors in
/// the order the header lists them, and a SHA-256 of all that precedes it. Written by <see cref="AtomicFile"/>,
/// so an interrupted save never destroys the previous file. Both directions stream: neither holds the file whole.
/// </summary>
internal static class TensorFile
{
    static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    /// <summary>The most bytes a header may have: ours are a few kilobytes, so a larger claim is a corrupt length.</summary>
    public const int MaxHeaderBytes = 1 << 20;

    /// <summary>Floats hashed and copied at a time: a span of bytes of a whole tensor could pass 2 GB.</summary>
    const int ChunkFloats = 1 << 18;

    /// <summary>The tensors' names and lengths in file order, as a header records them.</summary>
    public static Dictionary<string, int> Lengths(IEnumerable<(string Name, float[] Values)> tensors) =>
        tensors.ToDictionary(t => t.Name, t => t.Values.Length);

    public static void Write<THeader>(string path, string magic, int version, THeader header,
        IReadOnlyList<(string Name, float[] Values)> tensors)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(header, Json);
        var start = new byte[magic.Length + 8];
        Encoding.ASCII.GetBytes(magic, start);
        BinaryPrimitives.WriteInt32LittleEndian(start.AsSpan(magic.Length), version);
        BinaryPrimitives.WriteInt32LittleEndian(start.AsSpan(magic.Length + 4), json.Length);
        AtomicFile.Write(path, file =>
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            void Put(ReadOnlySpan<byte> bytes)
            {
                hash.AppendData(bytes);
                file.Write(bytes);
            }
            Put(start);
            Put(json);
            foreach (var (_, values) in tensors)
                for (int at = 0; at < values.Length; at += ChunkFloats)
                    Put(MemoryMarshal.AsBytes(values.AsSpan(at, Math.Min(ChunkFloats, values.Length - at))));
            file.Write(hash.GetHashAndReset());
        });
    }

    /// <summary>
    /// Reads and verifies a file written by <see cref="Write"/>. <paramref name="kind"/> names the file in messages
    /// ("checkpoint"); <paramref name="problem"/> says what in a header is out of range (null: nothing), and is asked
    /// before any tensor is allocated, so that the tensor list <paramref name="tensorLengths"/> gives is one the header
    /// may legally claim; the tensors must then fill the file exactly. A problem found before the end is reported
    /// only once the checksum has been verified by streaming the rest, so that a corrupt file reads as corrupt.
    /// </summary>
    public static (THeader Header, Dictionary<string, float[]> Tensors) Read<THeader>(string path, string magic, int version,
        string kind, Func<THeader, string?> problem, Func<THeader, IReadOnlyDictionary<string, int>> tensorLengths)
    {
        try
        {
            long length = RegularFile.Length(path, magic.Length + 8 + SHA256.HashSizeInBytes, $"an IlgpuGan {kind}");
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
            using var body = new HashedBody(file, path, length - SHA256.HashSizeInBytes);
            var start = new byte[magic.Length + 8];
            body.Read(start);
            if (Encoding.ASCII.GetString(start, 0, magic.Length) != magic)
                throw new CheckpointException($"{path}: not an IlgpuGan {kind}");
            int fileVersion = BinaryPrimitives.ReadInt32LittleEndian(start.AsSpan(magic.Length));
            if (fileVersion != version) throw body.Refuse($"{kind} version {fileVersion}, this build reads version {version}");
            int jsonLength = BinaryPrimitives.ReadInt32LittleEndian(start.AsSpan(magic.Length + 4));
            if (jsonLength < 0 || jsonLength > body.Remaining)
                throw body.Refuse($"a header of {jsonLength} bytes, where {body.Remaining} follow");
            if (jsonLength > MaxHeaderBytes) throw body.Refuse($"a header of {jsonLength} bytes, more than the {MaxHeaderBytes} a header has");
            var json = new byte[jsonLength];
            body.Read(json);
            THeader? header;
            try { header = JsonSerializer.Deserialize<THeader>(json, Json); }
            catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
            {
                throw body.Refuse($"unreadable header ({Printable.Escape(e.Message)})");
            }
            if (header is null) throw body.Refuse("the header is null");
            if (problem(header) is { } headerProblem) throw body.Refuse(headerProblem);
            var lengths = tensorLengths(header);
            long declared = 0;
            foreach (var (name, count) in lengths)
            {
                if (count < 0) throw body.Refuse($"tensor {Printable.Escape(name)} has {count} values");
                declared += 4L * count;
            }
            if (declared != body.Remaining)
                throw body.Refuse($"the header lists {declared} bytes of tensors, the file holds {body.Remaining}");
            var tensors = new Dictionary<string, float[]>();
            foreach (var (name, count) in lengths)
            {
                var values = new float[count];
                for (int at = 0; at < count; at += ChunkFloats)
                    body.Read(MemoryMarshal.AsBytes(values.AsSpan(at, Math.Min(ChunkFloats, count - at))));
                tensors[name] = values;
            }
            body.Verify();
            return (header, tensors);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CheckpointException(e.Message.StartsWith(path, StringComparison.Ordinal)
                ? e.Message
                : $"{path}: cannot read {kind} ({e.Message})");
        }
    }

    /// <summary>The part of a file before its SHA-256, read in order and hashed as it is read.</summary>
    sealed class HashedBody(Stream file, string path, long length) : IDisposable
    {
        readonly IncrementalHash hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        /// <summary>Bytes of the body not read yet.</summary>
        public long Remaining { get; private set; } = length;

        public void Read(Span<byte> into)
        {
            if (into.Length > Remaining) throw new EndOfStreamException($"{path}: truncated");
            file.ReadExactly(into);
            hash.AppendData(into);
            Remaining -= into.Length;
        }

        /// <summary>Reads the rest and the stored hash; throws when they disagree.</summary>
        public void Verify()
        {
            var scratch = new byte[1 << 16];
            while (Remaining > 0) Read(scratch.AsSpan(0, (int)Math.Min(scratch.Length, Remaining)));
            var stored = new byte[SHA256.HashSizeInBytes];
            file.ReadExactly(stored);
            if (!hash.GetHashAndReset().AsSpan().SequenceEqual(stored))
                throw new CheckpointException($"{path}: checksum mismatch: the file is truncated or corrupt");
        }

        /// <summary>The exception for a problem found in a header: the checksum's, when the file is corrupt.</summary>
        public CheckpointException Refuse(string problem)
        {
            Verify();
            return new CheckpointException($"{path}: {problem}");
        }

        public void Dispose() => hash.Dispose();
    }
}

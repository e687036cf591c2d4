using System.Buffers.Binary;
using System.IO.Compression;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Data;

/// <summary>A data file that is not what it should be; the message names the file and the problem.</summary>
public sealed class DataFormatException(string path, string problem) : IlgpuGanException($"{path}: {problem}")
{
    /// <summary>The file at fault.</summary>
    public string Path { get; } = path;
    /// <summary>What is wrong with it.</summary>
    public string Problem { get; } = problem;
}

/// <summary>Images of an IDX3 file: Count images of Rows×Columns unsigned bytes, row-major, image after image.</summary>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// The IDX format MNIST is distributed in: a big-endian magic number 0x0000TTDD (TT the element type, DD the
/// dimension count), DD big-endian 32-bit sizes, then the elements. Only unsigned bytes (TT = 0x08) occur in
/// MNIST; files may be gzipped, which is told by the gzip magic bytes because downloads get renamed.
/// </summary>
public static class IdxFile
{
    const byte UnsignedByteType = 0x08;
    /// <summary>The bytes of gzip data allocated before any arrive: more come as the data does.</summary>
    const int FirstPiece = 1 << 24;

    /// <summary>Reads a labels file (magic 0x00000801): one byte per sample.</summary>
    public static byte[] ReadLabels(string path) => Read(path, dimensionCount: 1, "labels").Data;

    /// <summary>Reads an images file (magic 0x00000803).</summary>
    public static IdxImages ReadImages(string path)
    {
        var (shape, pixels) = Read(path, dimensionCount: 3, "pixels");
        return new IdxImages(shape[0], shape[1], shape[2], pixels);
    }

    /// <summary>Writes an uncompressed images file (magic 0x00000803) that <see cref="ReadImages"/> reads back.</summary>
    public static void WriteImages(string path, IdxImages images)
    {
        if (images.Pixels.Length != (long)images.Count * images.Rows * images.Columns)
            throw new ArgumentException(
                $"{images.Pixels.Length} pixels do not make {images.Count}×{images.Rows}×{images.Columns} images");
        WriteImages(path, images.Count, images.Rows, images.Columns, file => file.Write(images.Pixels));
    }

    /// <summary>
    /// Writes an images file whose pixels <paramref name="writePixels"/> streams after the header, exactly
    /// count×rows×columns bytes of them, so that no more than a piece need be in memory at once.
    /// </summary>
    public static void WriteImages(string path, int count, int rows, int columns, Action<Stream> writePixels)
    {
        if (count <= 0 || rows <= 0 || columns <= 0)
            throw new ArgumentException($"image shape {count}×{rows}×{columns} is not positive");
        var header = new byte[16];
        BinaryPrimitives.WriteInt32BigEndian(header, UnsignedByteType << 8 | 3);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(12), columns);
        AtomicFile.Write(path, file =>
        {
            file.Write(header);
            writePixels(file);
            long written = file.Position - header.Length;
            if (written != (long)count * rows * columns)
                throw new ArgumentException($"{written} pixels written for {count}×{rows}×{columns} images");
        });
    }

    static (int[] Shape, byte[] Data) Read(string path, int dimensionCount, string elements)
    {
        RegularFile.Length(path, minimum: 1, "an IDX file");
        using var file = File.OpenRead(path);
        bool gzipped = file.ReadByte() == 0x1F && file.ReadByte() == 0x8B;
        file.Position = 0;
        using var stream = gzipped ? new GZipStream(file, CompressionMode.Decompress) : (Stream)file;
        try
        {
            var parsed = Parse(stream, path, dimensionCount, elements, gzipped ? " (decompressed)" : "");
            if (gzipped) CheckGzipTrailer(file, path, parsed.Shape, parsed.Data);
            return parsed;
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"corrupt gzip data: {e.Message}");
        }
    }

    /// <summary>
    /// GZipStream stops without a word at bytes after the gzip data that begin no further member, so they are found by
    /// the file's last 8 bytes, which must be the gzip trailer (RFC 1952: CRC-32 and length of the data) of what was
    /// decompressed. The IDX files are single gzip members, as MNIST's are.
    /// </summary>
    static void CheckGzipTrailer(FileStream file, string path, int[] shape, byte[] data)
    {
        var header = new byte[4 + 4 * shape.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, UnsignedByteType << 8 | shape.Length);
        for (int d = 0; d < shape.Length; d++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), shape[d]);
        uint crc = Crc32.Append(Crc32.Append(Crc32.Initial, header), data) ^ Crc32.Initial;
        var trailer = new byte[8];
        file.Seek(-trailer.Length, SeekOrigin.End);
        file.ReadExactly(trailer);
        if (BinaryPrimitives.ReadUInt32LittleEndian(trailer) != crc
            || BinaryPrimitives.ReadUInt32LittleEndian(trailer.AsSpan(4)) != (uint)(header.Length + (long)data.Length))
            throw new DataFormatException(path, "bytes after the gzip data: the file does not end with the trailer of its one gzip member");
    }

    /// <summary>The CRC-32 of gzip (polynomial 0xEDB88320, reflected).</summary>
    static class Crc32
    {
        public const uint Initial = 0xFFFFFFFF;

        static readonly uint[] Table = Enumerable.Range(0, 256).Select(n =>
        {
            uint c = (uint)n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            return c;
        }).ToArray();

        public static uint Append(uint crc, ReadOnlySpan<byte> bytes)
        {
            foreach (var b in bytes) crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
            return crc;
        }
    }

    static (int[] Shape, byte[] Data) Parse(Stream stream, string path, int dimensionCount, string elements, string note)
    {
        var header = new byte[4 + 4 * dimensionCount];
        int headerRead = stream.ReadAtLeast(header.AsSpan(0, 4), 4, throwOnEndOfStream: false);
        if (headerRead < 4)
            throw new DataFormatException(path, $"truncated: {headerRead} bytes{note}, shorter than the IDX magic number");
        if (header[0] != 0 || header[1] != 0)
            throw new DataFormatException(path, $"not an IDX file: magic number 0x{Convert.ToHexString(header, 0, 4)}");
        if (header[2] != UnsignedByteType)
            throw new DataFormatException(path, $"element type 0x{header[2]:X2} is not unsigned bytes (0x08)");
        if (header[3] != dimensionCount)
            throw new DataFormatException(path,
                $"{header[3]} dimensions (magic 0x{Convert.ToHexString(header, 0, 4)}); an IDX {elements} file has " +
                $"{dimensionCount} (magic 0x0000080{dimensionCount})");

        headerRead += stream.ReadAtLeast(header.AsSpan(4), header.Length - 4, throwOnEndOfStream: false);
        if (headerRead < header.Length)
            throw new DataFormatException(path,
                $"truncated: the header has {header.Length} bytes, the file{note} {headerRead}");

        var shape = new int[dimensionCount];
        UInt128 length = 1; // three 32-bit sizes cannot overflow it
        for (int d = 0; d < dimensionCount; d++)
        {
            uint size = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(4 + 4 * d));
            if (size == 0 || size > int.MaxValue)
                throw new DataFormatException(path, $"dimension {d + 1} of {dimensionCount} is {size}");
            shape[d] = (int)size;
            length *= size;
        }
        string declared = $"header says {string.Join('×', shape)} = {length} bytes of {elements}";
        if (length > (UInt128)Array.MaxLength)
            throw new DataFormatException(path, $"{declared}, more than one array holds");

        // Memory grows with the data that arrives, never with what a header claims: a raw file's length bounds it at
        // once, and gzip data is taken a piece at a time.
        var data = new byte[(int)UInt128.Min(length, stream.CanSeek ? (UInt128)(stream.Length - stream.Position) : FirstPiece)];
        int dataRead = 0;
        while (true)
        {
            dataRead += stream.ReadAtLeast(data.AsSpan(dataRead), data.Length - dataRead, throwOnEndOfStream: false);
            if (dataRead < data.Length || (UInt128)dataRead == length || stream.CanSeek) break;
            Array.Resize(ref data, (int)UInt128.Min(length, 2 * (UInt128)data.Length));
        }
        if ((UInt128)dataRead < length)
            throw new DataFormatException(path, $"truncated: {declared}, file{note} has {dataRead}");

        long trailing = 0;
        var scratch = new byte[81920];
        for (int n; (n = stream.Read(scratch)) > 0;) trailing += n;
        if (trailing > 0)
            throw new DataFormatException(path, $"{trailing} trailing bytes{note}: {declared}");
        return (shape, data);
    }
}

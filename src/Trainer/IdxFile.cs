using System.Buffers.Binary;
using System.IO.Compression;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>A data file that is not what it should be; the message names the file and the problem.</summary>
public sealed class DataFormatException(string path, string problem) : Exception($"{path}: {problem}")
{
    public string Path { get; } = path;
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
            return Parse(stream, path, dimensionCount, elements, gzipped ? " (decompressed)" : "");
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(path, $"corrupt gzip data: {e.Message}");
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

        var data = new byte[(int)length];
        int dataRead = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (dataRead < data.Length)
            throw new DataFormatException(path, $"truncated: {declared}, file{note} has {dataRead}");

        long trailing = 0;
        var scratch = new byte[81920];
        for (int n; (n = stream.Read(scratch)) > 0;) trailing += n;
        if (trailing > 0)
            throw new DataFormatException(path, $"{trailing} trailing bytes{note}: {declared}");
        return (shape, data);
    }
}

using System.Buffers.Binary;
using System.Text;

namespace IlgpuGan.Model.IO;

/// <summary>
/// NumPy's .npy format, version 1.0, for unsigned bytes in C order: numpy.load reads it in one line. The magic
/// \x93NUMPY, the version 1 0, a little-endian 16-bit header length, then a Python dict literal padded with spaces
/// and ended by a newline so that the data starts at a multiple of 64 bytes, then the elements.
/// </summary>
public static class NpyFile
{
    static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0];
    const int Alignment = 64;

    /// <summary>
    /// Writes an array of <paramref name="shape"/> whose bytes <paramref name="writeElements"/> streams after the
    /// header, exactly the product of the shape, through <see cref="AtomicFile"/>.
    /// </summary>
    public static void WriteBytes(string path, IReadOnlyList<int> shape, Action<Stream> writeElements)
    {
        if (shape.Count == 0 || shape.Any(size => size < 1))
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) is not positive");
        long elements = shape.Aggregate(1L, (product, size) => checked(product * size));
        var header = Header(shape);
        AtomicFile.Write(path, file =>
        {
            file.Write(header);
            writeElements(file);
            long written = file.Position - header.Length;
            if (written != elements)
                throw new ArgumentException($"{written} bytes written for an array of {elements}");
        });
    }

    static byte[] Header(IReadOnlyList<int> shape)
    {
        // Python's tuple syntax: a 1-tuple keeps its comma.
        var sizes = shape.Count == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        var dict = $"{{'descr': '|u1', 'fortran_order': False, 'shape': ({sizes}), }}";
        int unpadded = Magic.Length + 2 + dict.Length + 1;
        int length = (unpadded + Alignment - 1) / Alignment * Alignment;
        var header = new byte[length];
        Magic.CopyTo(header, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(header.AsSpan(Magic.Length), (ushort)(length - Magic.Length - 2));
        int text = Magic.Length + 2;
        Encoding.ASCII.GetBytes(dict, header.AsSpan(text));
        header.AsSpan(text + dict.Length, length - text - dict.Length - 1).Fill((byte)' ');
        header[^1] = (byte)'\n';
        return header;
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuGan.Tests;

/// <summary>Data sets the data tests write: CIFAR-10's binary batches, folders of pictures, the 8×8 digits of Debian's scikit-learn.</summary>
public static class TestPictures
{
    public const int CifarRecordBytes = 1 + 3 * 32 * 32;

    /// <summary>A CIFAR-10 record: the label, then the R, G and B planes of a picture that depends on its index.</summary>
    public static byte[] CifarRecord(int index, byte label)
    {
        var record = new byte[CifarRecordBytes];
        record[0] = label;
        for (int c = 0; c < 3; c++)
        for (int p = 0; p < 1024; p++)
            record[1 + c * 1024 + p] = (byte)(c == label % 3 ? 40 + p / 32 * 6 + index : p % 32 * 8 * c / 2);
        return record;
    }

    /// <summary>The five training batches of <paramref name="perBatch"/> records and a test batch of 4, as cifar-10-batches-bin holds them.</summary>
    public static string WriteCifar(string folder, int perBatch)
    {
        Directory.CreateDirectory(folder);
        for (int batch = 0; batch <= 5; batch++)
        {
            int count = batch == 5 ? 4 : perBatch;
            var bytes = Enumerable.Range(0, count).SelectMany(i => CifarRecord(batch * perBatch + i, (byte)((batch * perBatch + i) % 10))).ToArray();
            File.WriteAllBytes(Path.Combine(folder, batch == 5 ? "test_batch.bin" : $"data_batch_{batch + 1}.bin"), bytes);
        }
        return folder;
    }

    /// <summary>An RGB picture of <paramref name="width"/>×<paramref name="height"/> pixels: a gradient in the hue of <paramref name="seed"/>.</summary>
    public static void WriteColourPicture(string path, int width, int height, int seed)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var image = new Image<Rgb24>(width, height);
        for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            image[x, y] = new Rgb24((byte)(seed * 70 + x * 255 / width), (byte)(y * 255 / height), (byte)(255 - seed * 90));
        if (path.EndsWith(".bmp", StringComparison.Ordinal)) image.SaveAsBmp(path);
        else if (path.EndsWith(".jpg", StringComparison.Ordinal)) image.SaveAsJpeg(path);
        else image.SaveAsPng(path);
    }

    /// <summary>A PNG whose header claims <paramref name="side"/>×<paramref name="side"/> RGB pixels and that holds almost nothing.</summary>
    public static byte[] PngClaiming(int side)
    {
        var header = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, side);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), side);
        header[8] = 8; // bit depth
        header[9] = 2; // RGB
        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true)) zlib.Write(new byte[4096]);
        return [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A,
            .. Chunk("IHDR", header), .. Chunk("IDAT", compressed.ToArray()), .. Chunk("IEND", [])];
    }

    static byte[] Chunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, chunk.AsSpan(4));
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    static uint Crc32(ReadOnlySpan<byte> bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (var b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return crc ^ 0xFFFFFFFF;
    }

    /// <summary>Debian python3-sklearn's copy of the UCI 8×8 digits: 1,797 rows of 64 pixels 0–16 and the digit.</summary>
    public static string? DigitsCsv() =>
        new[] { "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz", "/usr/share/python3-sklearn/digits.csv.gz" }
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// The digits as an ImageFolder: one subfolder per digit, one 8×8 greyscale PNG per row (0–16 scaled to 0–255);
    /// returns the rows' pixels and labels in file order.
    /// </summary>
    public static (byte[][] Pixels, byte[] Labels) WriteDigits(string csvGz, string folder)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(csvGz), CompressionMode.Decompress));
        var pixels = new List<byte[]>();
        var labels = new List<byte>();
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            var values = line.Split(',').Select(v => (int)double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var image = values[..64].Select(v => (byte)((v * 255 + 8) / 16)).ToArray();
            using var png = Image.LoadPixelData<L8>(image, 8, 8);
            var path = Path.Combine(folder, values[64].ToString(System.Globalization.CultureInfo.InvariantCulture), $"{pixels.Count:0000}.png");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            png.SaveAsPng(path);
            pixels.Add(image);
            labels.Add((byte)values[64]);
        }
        return (pixels.ToArray(), labels.ToArray());
    }
}

using System.Buffers.Binary;
using System.IO.Compression;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

public class IdxFileTests
{
    /// <summary>An IDX file's bytes: magic 0x000008DD for shape's DD dimensions, the sizes, then data.</summary>
    public static byte[] Idx(int[] shape, byte[] data)
    {
        var bytes = new byte[4 + 4 * shape.Length + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, 0x0800 | shape.Length);
        for (int d = 0; d < shape.Length; d++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * d), shape[d]);
        data.CopyTo(bytes, 4 + 4 * shape.Length);
        return bytes;
    }

    public static byte[] Gzip(byte[] bytes)
    {
        var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest)) gzip.Write(bytes);
        return compressed.ToArray();
    }

    static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    [Test]
    public void WrittenImagesReadBack()
    {
        using var folder = new TempFolder();
        var images = new IdxImages(3, 28, 28, RandomBytes(3 * 28 * 28, seed: 1));
        IdxFile.WriteImages(folder.File("images"), images);

        var read = IdxFile.ReadImages(folder.File("images"));

        Assert.That((read.Count, read.Rows, read.Columns), Is.EqualTo((3, 28, 28)));
        Assert.That(read.Pixels, Is.EqualTo(images.Pixels));
        Assert.That(File.ReadAllBytes(folder.File("images"))[..16], Is.EqualTo(Idx([3, 28, 28], [])));
    }

    [Test]
    public void GzipIsToldByItsMagicBytesNotTheName()
    {
        using var folder = new TempFolder();
        var pixels = RandomBytes(2 * 5 * 7, seed: 2);
        var labels = RandomBytes(9, seed: 3);
        File.WriteAllBytes(folder.File("images-without-suffix"), Gzip(Idx([2, 5, 7], pixels)));
        File.WriteAllBytes(folder.File("labels.gz"), Idx([9], labels));

        var images = IdxFile.ReadImages(folder.File("images-without-suffix"));

        Assert.That((images.Count, images.Rows, images.Columns), Is.EqualTo((2, 5, 7)));
        Assert.That(images.Pixels, Is.EqualTo(pixels));
        Assert.That(IdxFile.ReadLabels(folder.File("labels.gz")), Is.EqualTo(labels));
    }

    [TestCase(false, "file has 1000")]
    [TestCase(true, "file (decompressed) has 1000")]
    public void TruncatedDataIsReportedWithTheDeclaredShape(bool gzipped, string found)
    {
        using var folder = new TempFolder();
        var bytes = Idx([3, 28, 28], RandomBytes(1000, seed: 4));
        File.WriteAllBytes(folder.File("images"), gzipped ? Gzip(bytes) : bytes);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(folder.File("images")))!;

        Assert.That(error.Message, Is.EqualTo(
            $"{folder.File("images")}: truncated: header says 3×28×28 = 2352 bytes of pixels, {found}"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void TrailingBytesAreRejected(bool gzipped)
    {
        using var folder = new TempFolder();
        var bytes = Idx([4], RandomBytes(4 + 7, seed: 5));
        File.WriteAllBytes(folder.File("labels"), gzipped ? Gzip(bytes) : bytes);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadLabels(folder.File("labels")))!;

        Assert.That(error.Path, Is.EqualTo(folder.File("labels")));
        Assert.That(error.Problem, Does.StartWith("7 trailing bytes").And.Contain("4 = 4 bytes of labels"));
    }

    [Test]
    public void TruncatedHeaderIsRejected()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("images"), Idx([3, 28, 28], [])[..10]);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(folder.File("images")))!;

        Assert.That(error.Problem, Is.EqualTo("truncated: the header has 16 bytes, the file 10"));
    }

    [TestCase(new byte[] { 0x12, 0x34, 0x08, 0x03 }, "not an IDX file: magic number 0x12340803")]
    [TestCase(new byte[] { 0x00, 0x00, 0x0D, 0x03 }, "element type 0x0D is not unsigned bytes (0x08)")]
    [TestCase(new byte[] { 0x00, 0x00, 0x08, 0x01 }, "1 dimensions (magic 0x00000801); an IDX pixels file has 3 (magic 0x00000803)")]
    public void WrongMagicIsRejected(byte[] magic, string problem)
    {
        using var folder = new TempFolder();
        var bytes = Idx([1, 1, 1], [0]);
        magic.CopyTo(bytes, 0);
        File.WriteAllBytes(folder.File("images"), bytes);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(folder.File("images")))!;

        Assert.That(error.Problem, Is.EqualTo(problem));
    }

    [TestCase(new[] { 2, 0, 28 }, "dimension 2 of 3 is 0")]
    [TestCase(new[] { 2, 28, -1 }, "dimension 3 of 3 is 4294967295")]
    [TestCase(new[] { 60000, 60000, 60000 }, "header says 60000×60000×60000 = 216000000000000 bytes of pixels, more than one array holds")]
    public void ImpossibleDimensionsAreRejected(int[] shape, string problem)
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("images"), Idx(shape, []));

        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(folder.File("images")))!;

        Assert.That(error.Problem, Is.EqualTo(problem));
    }

    // Offset 10 is the first deflate block header: 0xFF makes it the reserved block type. The last 8 bytes
    // are the CRC-32 and length, which catch a change in the data that still inflates.
    [TestCase(10)]
    [TestCase(-8)]
    public void CorruptGzipIsADataFormatError(int offset)
    {
        using var folder = new TempFolder();
        var gzipped = Gzip(Idx([3, 28, 28], RandomBytes(3 * 28 * 28, seed: 6)));
        gzipped[offset < 0 ? gzipped.Length + offset : offset] ^= 0xFF;
        File.WriteAllBytes(folder.File("images"), gzipped);

        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(folder.File("images")))!;

        Assert.That(error.Message, Does.StartWith($"{folder.File("images")}: corrupt gzip data: "));
    }

    [Test]
    public void MissingFileNamesThePath()
    {
        using var folder = new TempFolder();
        var path = folder.File("absent/train-labels-idx1-ubyte");

        var error = Assert.Throws<FileNotFoundException>(() => IdxFile.ReadLabels(path))!;

        Assert.That(error.Message, Is.EqualTo($"{path}: file not found"));
        Assert.That(error.FileName, Is.EqualTo(path));
    }

    [Test]
    public void WriterRejectsPixelsThatDoNotMatchTheShape()
    {
        using var folder = new TempFolder();
        Assert.Throws<ArgumentException>(() => IdxFile.WriteImages(folder.File("x"), new IdxImages(2, 28, 28, new byte[784])));
        Assert.Throws<ArgumentException>(() => IdxFile.WriteImages(folder.File("x"), new IdxImages(0, 28, 28, [])));
    }
}

using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuGan.Tests;

/// <summary>ImageDataset.Open: each format told from the folder's contents, each read exactly, each file held hostile.</summary>
public class ImageDatasetTests
{
    TempFolder folder = null!;

    [SetUp]
    public void CreateFolder() => folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => folder.Dispose();

    [Test]
    public void IdxOfAnySizeNeedsOnlyItsTrainingImages()
    {
        var pixels = Enumerable.Range(0, 3 * 5 * 7).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(folder.File(MnistDataset.TrainImagesFile + ".gz"), IdxFileTests.Gzip(IdxFileTests.Idx([3, 5, 7], pixels)));

        var data = ImageDataset.Open(folder.Path);

        Assert.That(data.Format, Is.EqualTo(DataFormat.Idx));
        Assert.That(data.Shape, Is.EqualTo(new ImageShape(1, 5, 7)));
        Assert.That(data.Train.Count, Is.EqualTo(3));
        Assert.That(data.Train.Images, Is.EqualTo(pixels));
        Assert.That(data.Train.Labels, Is.Null);
        Assert.That(data.Test, Is.Null);
        Assert.That(data.IsLabelled, Is.False);
    }

    [Test]
    public void IdxTestImagesOfAnotherSizeAreNamed()
    {
        File.WriteAllBytes(folder.File(MnistDataset.TrainImagesFile), IdxFileTests.Idx([2, 5, 7], new byte[70]));
        File.WriteAllBytes(folder.File(MnistDataset.TrainLabelsFile), IdxFileTests.Idx([2], [0, 3]));
        File.WriteAllBytes(folder.File(MnistDataset.TestImagesFile), IdxFileTests.Idx([2, 7, 5], new byte[70]));

        var error = Assert.Throws<DataFormatException>(() => ImageDataset.Open(folder.Path))!;

        Assert.That(error.Path, Is.EqualTo(folder.File(MnistDataset.TestImagesFile)));
        Assert.That(error.Problem, Does.StartWith("images are 7×5"));
    }

    [Test]
    public void CifarRecordsAreLabelThenPlanes()
    {
        TestPictures.WriteCifar(folder.Path, perBatch: 3);

        var data = ImageDataset.Open(folder.Path);

        Assert.That(data.Format, Is.EqualTo(DataFormat.Cifar10));
        Assert.That(data.Shape, Is.EqualTo(new ImageShape(3, 32, 32)));
        Assert.That(data.Train.Count, Is.EqualTo(15));
        Assert.That(data.Test!.Count, Is.EqualTo(4));
        Assert.That(data.ClassNames, Has.Count.EqualTo(10).And.Contains("airplane"));
        for (int i = 0; i < 15; i++)
        {
            var record = TestPictures.CifarRecord(i, (byte)(i % 10));
            Assert.That(data.Train.Labels![i], Is.EqualTo(i % 10));
            Assert.That(data.Train.Images.AsSpan(i * 3072, 3072).ToArray(), Is.EqualTo(record[1..]), $"image {i}");
        }
    }

    [Test]
    public void CifarFilesAreHeldHostile()
    {
        TestPictures.WriteCifar(folder.Path, perBatch: 2);
        var third = folder.File("data_batch_3.bin");
        File.Move(third, third + ".away");
        var error = Assert.Throws<DataFormatException>(() => ImageDataset.Open(folder.Path))!;
        Assert.That(error.Message, Is.EqualTo($"{folder.Path}: CIFAR-10's training batches lack data_batch_3.bin"));

        File.WriteAllBytes(third, new byte[TestPictures.CifarRecordBytes * 2 - 1]);
        error = Assert.Throws<DataFormatException>(() => ImageDataset.Open(folder.Path))!;
        Assert.That(error.Path, Is.EqualTo(third));
        Assert.That(error.Problem, Does.StartWith($"{TestPictures.CifarRecordBytes * 2 - 1} bytes are not whole records of 3073 bytes"));

        File.WriteAllBytes(third, [.. TestPictures.CifarRecord(0, 1), .. TestPictures.CifarRecord(1, 10)]);
        error = Assert.Throws<DataFormatException>(() => ImageDataset.Open(folder.Path))!;
        Assert.That(error.Message, Is.EqualTo($"{third}: record 1 has label 10, outside 0..9"));

        File.WriteAllBytes(third, []);
        Assert.That(Assert.Throws<IOException>(() => ImageDataset.Open(folder.Path))!.Message, Does.StartWith($"{third}: empty"));
    }

    [Test]
    public void ClassesAreTheSortedSubfolders()
    {
        TestPictures.WriteColourPicture(folder.File("zebra", "a.png"), 6, 4, seed: 0);
        TestPictures.WriteColourPicture(folder.File("ant", "deeper", "b.bmp"), 6, 4, seed: 1);
        TestPictures.WriteColourPicture(folder.File("ant", "c.jpg"), 6, 4, seed: 2);
        TestPictures.WriteColourPicture(folder.File("outside.png"), 6, 4, seed: 2);
        var log = new StringWriter();

        var data = ImageDataset.Open(folder.Path, new ImageFolderOptions(), log);

        Assert.That(data.Format, Is.EqualTo(DataFormat.ImageFolder));
        Assert.That(data.ClassNames, Is.EqualTo(new[] { "ant", "zebra" }));
        Assert.That(data.Shape, Is.EqualTo(new ImageShape(3, 4, 6)), "the first picture's size");
        Assert.That(data.Train.Labels, Is.EqualTo(new byte[] { 0, 0, 1 }), "ant/c.jpg, ant/deeper/b.bmp, zebra/a.png");
        Assert.That(log.ToString(), Does.Contain("1 pictures outside the class subfolders are not read"));
        using var expected = Image.Load<Rgb24>(folder.File("zebra", "a.png"));
        var image = data.Train.Images.AsSpan(2 * 72, 72);
        for (int y = 0; y < 4; y++)
        for (int x = 0; x < 6; x++)
            Assert.That((image[y * 6 + x], image[24 + y * 6 + x], image[48 + y * 6 + x]),
                Is.EqualTo((expected[x, y].R, expected[x, y].G, expected[x, y].B)), $"pixel ({x}, {y}) as R, G, B planes");
    }

    [Test]
    public void PicturesAreResizedAndConverted()
    {
        TestPictures.WriteColourPicture(folder.File("wide.png"), 40, 20, seed: 1);
        TestPictures.WriteColourPicture(folder.File("small.png"), 3, 3, seed: 2);

        var data = ImageDataset.Open(folder.Path, new ImageFolderOptions(Size: 8, Channels: 1));

        Assert.That(data.Shape, Is.EqualTo(new ImageShape(1, 8, 8)));
        Assert.That(data.Train.Count, Is.EqualTo(2));
        Assert.That(data.Train.Labels, Is.Null);
        Assert.That(data.ClassNames, Is.Null);
    }

    [Test]
    public void PicturesThatDoNotDecodeAreSkippedAndCounted()
    {
        TestPictures.WriteColourPicture(folder.File("good.png"), 5, 5, seed: 0);
        File.WriteAllBytes(folder.File("garbage.png"), [1, 2, 3, 4, 5]);
        File.WriteAllBytes(folder.File("bomb.png"), TestPictures.PngClaiming(100_000));
        File.WriteAllText(folder.File("notes.txt"), "not a picture, not counted");
        var log = new StringWriter();

        var data = ImageDataset.Open(folder.Path, new ImageFolderOptions(), log);

        Assert.That(data.Train.Count, Is.EqualTo(1));
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(3), log.ToString());
        Assert.That(lines[0], Is.EqualTo($"skipped {folder.File("bomb.png")}: its header claims 100000×100000 pixels, more than the 67108864 a picture may have"));
        Assert.That(lines[1], Does.StartWith($"skipped {folder.File("garbage.png")}: UnknownImageFormatException"));
        Assert.That(lines[2], Is.EqualTo($"{folder.Path}: skipped 2 of 3 pictures that do not decode"));
    }

    [Test]
    public void AFolderOfNothingKnownIsNamed()
    {
        File.WriteAllText(folder.File("readme.txt"), "");
        var error = Assert.Throws<DataFormatException>(() => ImageDataset.Open(folder.Path))!;
        Assert.That(error.Message, Does.StartWith($"{folder.Path}: no data set found"));
        Assert.Throws<DirectoryNotFoundException>(() => ImageDataset.Open(folder.File("missing")));
    }

    [Test]
    public void TheDigitsOfScikitLearnReadAsTheirCsvHoldsThem()
    {
        if (TestPictures.DigitsCsv() is not { } csv)
        {
            RequiredChecks.Unavailable("datasets", "no digits.csv.gz (apt-get install python3-sklearn)");
            return;
        }
        var (pixels, labels) = TestPictures.WriteDigits(csv, folder.File("digits"));

        var data = ImageDataset.Open(folder.File("digits"), new ImageFolderOptions(Size: 8, Channels: 1));

        Assert.That(pixels, Has.Length.EqualTo(1797));
        Assert.That(data.Shape, Is.EqualTo(new ImageShape(1, 8, 8)));
        Assert.That(data.ClassNames, Is.EqualTo(Enumerable.Range(0, 10).Select(d => d.ToString())));
        // The folder reads class by class, each in file-name (here row) order.
        var order = Enumerable.Range(0, pixels.Length).OrderBy(i => labels[i]).ThenBy(i => i).ToArray();
        Assert.That(data.Train.Labels, Is.EqualTo(order.Select(i => labels[i])));
        Assert.That(data.Train.Images, Is.EqualTo(order.SelectMany(i => pixels[i])));
    }
}

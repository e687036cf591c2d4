using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

public class MnistDatasetTests
{
    const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>A small MNIST-shaped set: 5 training and 3 test images, train raw and test gzipped.</summary>
    static (byte[] TrainImages, byte[] TrainLabels) WriteFakeMnist(TempFolder folder)
    {
        var random = new Random(7);
        var trainImages = new byte[5 * 784];
        var testImages = new byte[3 * 784];
        random.NextBytes(trainImages);
        random.NextBytes(testImages);
        byte[] trainLabels = [3, 9, 0, 1, 7], testLabels = [2, 2, 8];
        File.WriteAllBytes(folder.File(MnistDataset.TrainImagesFile), IdxFileTests.Idx([5, 28, 28], trainImages));
        File.WriteAllBytes(folder.File(MnistDataset.TrainLabelsFile), IdxFileTests.Idx([5], trainLabels));
        File.WriteAllBytes(folder.File(MnistDataset.TestImagesFile + ".gz"), IdxFileTests.Gzip(IdxFileTests.Idx([3, 28, 28], testImages)));
        File.WriteAllBytes(folder.File(MnistDataset.TestLabelsFile + ".gz"), IdxFileTests.Gzip(IdxFileTests.Idx([3], testLabels)));
        return (trainImages, trainLabels);
    }

    [Test]
    public void LoadsRawAndGzippedFiles()
    {
        using var folder = new TempFolder();
        var (trainImages, trainLabels) = WriteFakeMnist(folder);

        var mnist = MnistDataset.Load(folder.Path);

        Assert.That(mnist.Train.Count, Is.EqualTo(5));
        Assert.That(mnist.Train.Images, Is.EqualTo(trainImages));
        Assert.That(mnist.Train.Labels, Is.EqualTo(trainLabels));
        Assert.That(mnist.Test.Count, Is.EqualTo(3));
        Assert.That(mnist.Test.Labels, Is.EqualTo(new byte[] { 2, 2, 8 }));
    }

    [Test]
    public void MissingFilesAreAllNamed()
    {
        using var folder = new TempFolder();
        WriteFakeMnist(folder);
        File.Delete(folder.File(MnistDataset.TrainLabelsFile));
        File.Delete(folder.File(MnistDataset.TestImagesFile + ".gz"));

        var error = Assert.Throws<FileNotFoundException>(() => MnistDataset.Load(folder.Path))!;

        Assert.That(MnistDataset.MissingFiles(folder.Path), Is.EqualTo(new[] { MnistDataset.TrainLabelsFile, MnistDataset.TestImagesFile }));
        Assert.That(error.Message, Is.EqualTo(
            $"{folder.Path}: no train-labels-idx1-ubyte, t10k-images-idx3-ubyte (neither raw nor .gz)"));
    }

    [Test]
    public void ImagesMustBe28By28()
    {
        using var folder = new TempFolder();
        WriteFakeMnist(folder);
        File.WriteAllBytes(folder.File(MnistDataset.TrainImagesFile), IdxFileTests.Idx([5, 27, 28], new byte[5 * 27 * 28]));

        var error = Assert.Throws<DataFormatException>(() => MnistDataset.Load(folder.Path))!;

        Assert.That(error.Message, Is.EqualTo($"{folder.File(MnistDataset.TrainImagesFile)}: images are 27×28, MNIST's are 28×28"));
    }

    [Test]
    public void LabelCountMustEqualImageCount()
    {
        using var folder = new TempFolder();
        WriteFakeMnist(folder);
        File.WriteAllBytes(folder.File(MnistDataset.TrainLabelsFile), IdxFileTests.Idx([4], [1, 2, 3, 4]));

        var error = Assert.Throws<DataFormatException>(() => MnistDataset.Load(folder.Path))!;

        Assert.That(error.Path, Is.EqualTo(folder.File(MnistDataset.TrainLabelsFile)));
        Assert.That(error.Problem, Is.EqualTo($"4 labels for the 5 images of {folder.File(MnistDataset.TrainImagesFile)}"));
    }

    [Test]
    public void LabelsMustBeDigits()
    {
        using var folder = new TempFolder();
        WriteFakeMnist(folder);
        File.WriteAllBytes(folder.File(MnistDataset.TestLabelsFile + ".gz"), IdxFileTests.Gzip(IdxFileTests.Idx([3], [2, 10, 8])));

        var error = Assert.Throws<DataFormatException>(() => MnistDataset.Load(folder.Path))!;

        Assert.That(error.Path, Is.EqualTo(folder.File(MnistDataset.TestLabelsFile + ".gz")));
        Assert.That(error.Problem, Is.EqualTo("label 10 at index 1 is outside 0..9"));
    }

    [Test]
    public void RawFileIsPreferredOverGzipped()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("a.gz"), []);
        Assert.That(MnistDataset.FindFile(folder.Path, "a"), Is.EqualTo(folder.File("a.gz")));
        File.WriteAllBytes(folder.File("a"), []);
        Assert.That(MnistDataset.FindFile(folder.Path, "a"), Is.EqualTo(folder.File("a")));
        Assert.That(MnistDataset.FindFile(folder.Path, "b"), Is.Null);
    }

    /// <summary>
    /// Each step in float64 then rounded to float32 equals the float32 operation (float64 carries more than
    /// twice float32's precision, so the double rounding is exact): this is PyTorch's float32 sequence.
    /// </summary>
    [Test]
    public void PixelToFloatIsToTensorThenNormalizeInFloat32()
    {
        var pixels = Enumerable.Range(0, 256).Select(b => (byte)b).ToArray();
        var floats = new float[256];
        MnistDataset.PixelsToFloats(pixels, floats);

        for (int b = 0; b < 256; b++)
        {
            float toTensor = (float)(b / 255.0);
            float expected = (float)((float)(toTensor - 0.5) / 0.5);
            Assert.That(MnistDataset.PixelToFloat((byte)b), Is.EqualTo(expected), $"pixel {b}");
            Assert.That(floats[b], Is.EqualTo(expected), $"pixel {b} of the span");
        }
        Assert.That(MnistDataset.PixelToFloat(0), Is.EqualTo(-1f));
        Assert.That(MnistDataset.PixelToFloat(255), Is.EqualTo(1f));
        // The order matters: the algebraically equal (b − 127.5)/127.5 rounds differently for half the pixels.
        Assert.That(pixels.Count(b => MnistDataset.PixelToFloat(b) != (b - 127.5f) / 127.5f), Is.EqualTo(128));
    }

    [Test]
    public void FloatToPixelRoundsClampsAndInvertsPixelToFloat()
    {
        Assert.That(MnistDataset.FloatToPixel(-1f), Is.EqualTo(0));
        Assert.That(MnistDataset.FloatToPixel(1f), Is.EqualTo(255));
        Assert.That(MnistDataset.FloatToPixel(0f), Is.EqualTo(128)); // 127.5 rounds half up
        Assert.That(MnistDataset.FloatToPixel(-0.5f), Is.EqualTo(64)); // 63.75
        Assert.That(MnistDataset.FloatToPixel(7f), Is.EqualTo(255));
        Assert.That(MnistDataset.FloatToPixel(-7f), Is.EqualTo(0));
        Assert.That(MnistDataset.FloatToPixel(float.NaN), Is.EqualTo(0));
        for (int b = 0; b < 256; b++)
            Assert.That(MnistDataset.FloatToPixel(MnistDataset.PixelToFloat((byte)b)), Is.EqualTo(b));
    }

    [Test]
    public void LoadsFashionMnistFromItsDebianPackage()
    {
        if (!Directory.Exists(FashionMnistFolder)) Assert.Ignore($"{FashionMnistFolder} absent (Debian package dataset-fashion-mnist)");

        var fashion = MnistDataset.Load(FashionMnistFolder);

        Assert.That(fashion.Train.Count, Is.EqualTo(60000));
        Assert.That(fashion.Test.Count, Is.EqualTo(10000));
        Assert.That(fashion.Train.Images, Has.Length.EqualTo(60000 * 784));
        // Fashion-MNIST is balanced: 6000 and 1000 of each class; its first image is an ankle boot (9).
        Assert.That(Enumerable.Range(0, 10).Select(c => fashion.Train.Labels.Count(l => l == c)), Is.All.EqualTo(6000));
        Assert.That(Enumerable.Range(0, 10).Select(c => fashion.Test.Labels.Count(l => l == c)), Is.All.EqualTo(1000));
        Assert.That(fashion.Train.Labels[0], Is.EqualTo(9));
        Assert.That(fashion.Train.Images[..784].Sum(p => p), Is.EqualTo(76247));
    }
}

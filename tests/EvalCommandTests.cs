using System.Text.Json;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// `eval`, `classifier` and `train --eval-every` end to end on the CPU accelerator, on the tiny MNIST-format
/// set of <see cref="ProgramTests"/> and a small random classifier each test writes.
/// </summary>
public sealed class EvalCommandTests : ProgramTests
{
    string data = null!;
    string classifierPath = null!;

    [SetUp]
    public void MakeData()
    {
        data = WriteTinyMnist();
        classifierPath = WriteTinyClassifier(data, Folder.File("classifier.bin"));
    }

    string[] Eval(params string[] source) =>
        ["eval", "--data", data, "--classifier", classifierPath, "--accelerator", "cpu", .. source];

    string TrainTwoSteps()
    {
        var (code, _, error) = Ilgpugan("train", "--data", data, "--out", Folder.File("run"), "--batch-size", "8",
            "--accelerator", "cpu", "--max-steps", "2", "--seed", "11");
        Assert.That(code, Is.EqualTo(0), error);
        return Folder.File("run", RunFolder.CheckpointFile);
    }

    static JsonElement Figures(string jsonPath, string set) => JsonDocument.Parse(File.ReadAllText(jsonPath)).RootElement.GetProperty(set);

    [Test]
    public void EvalOfAnIdxFilePrintsAndWritesEveryFigure()
    {
        var samples = Folder.File("samples-idx3-ubyte");
        var pixels = new byte[20 * 784];
        new Random(9).NextBytes(pixels);
        IdxFile.WriteImages(samples, new IdxImages(20, 28, 28, pixels));
        var json = Folder.File("eval.json");

        var (code, output, error) = Ilgpugan(Eval("--samples", samples, "--json", json));

        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("samples (20)").And.Contain("real train (48)"));
        foreach (var row in new[] { "Parzen log-likelihood", "window σ", "Fréchet distance", "classifier score", "smallest class share", "class 9" })
            Assert.That(output, Does.Contain(row));
        foreach (var set in new[] { "samples", "real_training_digits" })
        {
            var figures = Figures(json, set);
            Assert.That(figures.GetProperty("parzen").GetProperty("sigma").GetDouble(), Is.InRange(0.1, 1.0));
            Assert.That(double.IsFinite(figures.GetProperty("parzen").GetProperty("mean").GetDouble()));
            Assert.That(figures.GetProperty("parzen").GetProperty("standard_error").GetDouble(), Is.GreaterThan(0));
            Assert.That(figures.GetProperty("frechet").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(figures.GetProperty("classifier_score").GetDouble(), Is.InRange(1.0, 10.0));
            var shares = figures.GetProperty("class_shares").EnumerateArray().Select(e => e.GetDouble()).ToArray();
            Assert.That(shares, Has.Length.EqualTo(10));
            Assert.That(shares.Sum(), Is.EqualTo(1).Within(1e-9));
            Assert.That(figures.GetProperty("min_class_share").GetDouble(), Is.EqualTo(shares.Min()));
        }
        Assert.That(Figures(json, "samples").GetProperty("count").GetInt32(), Is.EqualTo(20));
    }

    /// <summary>A checkpoint's samples and the IDX file `sample` writes of the same draw give the same figures.</summary>
    [Test]
    public void CheckpointAndItsSampledIdxGiveIdenticalFigures()
    {
        var checkpoint = TrainTwoSteps();
        var idx = Folder.File("s-idx3-ubyte");
        Assert.That(Ilgpugan("sample", "--checkpoint", checkpoint, "--count", "24", "--png", Folder.File("s.png"),
            "--idx", idx, "--seed", "4", "--accelerator", "cpu").Code, Is.EqualTo(0));
        var fromCheckpoint = Folder.File("checkpoint.json");
        var fromIdx = Folder.File("idx.json");

        var (code, _, error) = Ilgpugan(Eval("--checkpoint", checkpoint, "--count", "24", "--seed", "4", "--json", fromCheckpoint));
        Assert.That(code, Is.EqualTo(0), error);
        (code, _, error) = Ilgpugan(Eval("--samples", idx, "--json", fromIdx));
        Assert.That(code, Is.EqualTo(0), error);

        Assert.That(Figures(fromCheckpoint, "samples").ToString(), Is.EqualTo(Figures(fromIdx, "samples").ToString()));
    }

    [Test]
    public void EvalNeedsExactlyOneSource()
    {
        Assert.That(Ilgpugan(Eval()).Code, Is.EqualTo(2));
        var (code, _, error) = Ilgpugan(Eval("--samples", "a", "--checkpoint", "b"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(error, Does.Contain("--checkpoint or --samples"));
    }

    [Test]
    public void MissingOrCorruptClassifierIsNamed()
    {
        var samples = Folder.File("samples-idx3-ubyte");
        IdxFile.WriteImages(samples, new IdxImages(4, 28, 28, new byte[4 * 784]));
        var missing = Folder.File("nowhere.bin");
        var (code, _, error) = Ilgpugan("eval", "--data", data, "--samples", samples, "--classifier", missing, "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(missing).And.Contain("no classifier file").And.Contain("classifier --data"));

        var bytes = File.ReadAllBytes(classifierPath);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(classifierPath, bytes);
        (code, _, error) = Ilgpugan(Eval("--samples", samples));
        Assert.That(code, Is.EqualTo(1));
        Assert.That(error, Does.Contain(classifierPath).And.Contain("corrupt"));
    }

    [Test]
    public void ClassifierFileRoundTrips()
    {
        var (header, parameters) = ClassifierFile.Read(classifierPath);
        Assert.That(header.HiddenWidths, Is.EqualTo(new[] { 16 }));
        Assert.That((header.Pixels, header.Classes, header.Seed, header.TestAccuracy), Is.EqualTo((784, 10, 3UL, 0.1)));
        Assert.That(header.Data, Is.EqualTo(MeasuredData.Load(data).Fingerprint));

        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        var kernels = new KernelSet(device);
        using var fresh = new Classifier(kernels, 784, [16], 10, maxRows: 8);
        Initialization.LikePyTorch(fresh, Initialization.PhiloxUniform(3), 0);
        var (loaded, _) = ClassifierFile.Load(classifierPath, kernels, maxRows: 4);
        using (loaded)
        {
            Assert.That(loaded.Store.AllParameters.GetAsArray(), Is.EqualTo(fresh.Store.AllParameters.GetAsArray()));
            Assert.That(parameters, Is.EqualTo(fresh.Store.AllParameters.GetAsArray()));
        }

        Assert.That(() => Checkpoint.Read(classifierPath), Throws.TypeOf<CheckpointException>().With.Message.Contain("not an IlgpuGan checkpoint"));
    }

    /// <summary>The committed classifier, which `eval` and `train --eval-every` use by default, copied beside the program.</summary>
    [Test]
    public void CommittedClassifierIsTheRecordedRecipe()
    {
        var (header, parameters) = ClassifierFile.Read(Evaluation.DefaultClassifierPath);
        Assert.That(header.HiddenWidths, Is.EqualTo(Classifier.DefaultWidths));
        Assert.That((header.Pixels, header.Classes), Is.EqualTo((784, Classifier.MnistClasses)));
        Assert.That(header.TestAccuracy, Is.GreaterThanOrEqualTo(0.98));
        Assert.That(header.Learned, Is.SameAs(DatasetFingerprint.Mnist), "a file without a fingerprint is MNIST's");
        Assert.That(parameters, Has.Length.EqualTo(784 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10));
    }

    /// <summary>The accuracy its header claims, on the real test set (a second or two), when the repository has MNIST.</summary>
    [Test]
    public void CommittedClassifierReachesItsAccuracyOnRealMnist()
    {
        var mnistFolder = RepositoryMnist();
        if (mnistFolder is null) Assert.Ignore("no data/mnist in the repository");
        var test = MnistDataset.Load(mnistFolder).Test;
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        var kernels = new KernelSet(device);
        var (classifier, header) = Evaluation.LoadClassifier(Evaluation.DefaultClassifierPath, MeasuredData.Load(mnistFolder), kernels)!.Value;
        using (classifier)
        {
            double accuracy = ClassifierCommand.Accuracy(kernels, classifier, test.Images, test.Labels);
            Assert.That(accuracy, Is.GreaterThanOrEqualTo(0.98));
            Assert.That(accuracy, Is.EqualTo(header.TestAccuracy).Within(1e-4));
        }
    }

    public static string? RepositoryMnist() =>
        Repository() is { } root && Path.Combine(root, "data", "mnist") is var mnist && MnistDataset.MissingFiles(mnist).Count == 0 ? mnist : null;

    [Test]
    public void ClassifierCommandTrainsAndRecordsItsAccuracy()
    {
        var output = Folder.File("trained.bin");
        var (code, text, error) = Ilgpugan("classifier", "--data", data, "--out", output, "--epochs", "2", "--batch-size", "8",
            "--seed", "2", "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(text, Does.Contain("epoch 1:").And.Contain("epoch 2:").And.Contain("test accuracy"));
        var (header, parameters) = ClassifierFile.Read(output);
        Assert.That((header.Epochs, header.Seed), Is.EqualTo((2, 2UL)));
        Assert.That(header.TestAccuracy, Is.InRange(0.0, 1.0));
        Assert.That(header.Data, Is.EqualTo(MeasuredData.Load(data).Fingerprint), "the file records the data it learned");
        Assert.That(header.Data!.Name, Is.EqualTo("data"), "named after its folder");
        Assert.That(parameters.All(float.IsFinite));

        Assert.That(Ilgpugan("classifier", "--data", data, "--out", output + "2", "--epochs", "2", "--batch-size", "8",
            "--seed", "2", "--accelerator", "cpu").Code, Is.EqualTo(0));
        Assert.That(ClassifierFile.Read(output + "2").Parameters, Is.EqualTo(parameters), "a seed retrains the same weights");
    }

    [Test]
    public void TrainEvalEveryAppendsQualityColumns()
    {
        var run = Folder.File("run");
        var (code, output, error) = Ilgpugan("train", "--data", data, "--out", run, "--batch-size", "8", "--accelerator", "cpu",
            "--epochs", "3", "--max-steps", "14", "--eval-every", "2", "--eval-samples", "16", "--classifier", classifierPath);
        Assert.That(code, Is.EqualTo(0), error);
        Assert.That(output, Does.Contain("quality: Parzen"));

        var lines = File.ReadAllLines(Path.Combine(run, "metrics.csv"));
        var header = lines[0].Split(',');
        Assert.That(header, Is.EqualTo(MetricsLog.HeaderFor(10).Split(',')));
        var rows = lines.Skip(1).Select(l => l.Split(',')).ToArray();
        Assert.That(rows.Select(r => r.Length), Is.All.EqualTo(header.Length));
        int parzen = Array.IndexOf(header, "parzen"), share9 = Array.IndexOf(header, "share_9");
        // Epochs 1, 2 and the partial epoch 3 that ends the run: measured at epoch 2 (every 2nd) and at the end.
        Assert.That(rows.Select(r => r[parzen].Length > 0), Is.EqualTo(new[] { false, true, true }));
        Assert.That(rows[0][parzen..].All(f => f.Length == 0));
        Assert.That(double.IsFinite(double.Parse(rows[1][share9], System.Globalization.CultureInfo.InvariantCulture)));
    }
}

using IlgpuGan.Kernels;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// What the end-to-end suites share: the `ilgpugan` program run in-process as a user would type it (standard
/// output not a terminal), a fresh temporary folder for each test, and a tiny MNIST-format set to write into it.
/// </summary>
public abstract class ProgramTests
{
    /// <summary>Random training images: an epoch of batch 8 is 6 steps.</summary>
    protected const int TrainImages = 48;
    const int TestImages = 16;

    protected TempFolder Folder { get; private set; } = null!;

    [SetUp]
    public void CreateFolder() => Folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => Folder.Dispose();

    /// <summary>The program as a user runs it, in-process: its exit code, standard output and standard error.</summary>
    public static (int Code, string Output, string Error) Ilgpugan(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = Program.Run(args, output, error, terminal: false);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>
    /// A short run on the tiny set in <paramref name="folder"/>/data (written when missing) into
    /// <paramref name="folder"/>/<paramref name="run"/>, batch 8 on the CPU accelerator, for suites that share one
    /// trained run across their tests; returns the run folder.
    /// </summary>
    public static string TrainTinyRun(string folder, string run, params string[] extra)
    {
        var data = Path.Combine(folder, "data");
        if (!Directory.Exists(data)) WriteTinyMnist(data);
        var runFolder = Path.Combine(folder, run);
        var (code, _, error) = Ilgpugan(["train", "--data", data, "--out", runFolder, "--batch-size", "8", "--accelerator", "cpu", .. extra]);
        Assert.That(code, Is.Zero, error);
        return runFolder;
    }

    /// <summary>The checkout the tests were built in (the folder of IlgpuGan.sln above them), or null.</summary>
    public static string? Repository()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "IlgpuGan.sln"))) return directory.FullName;
        return null;
    }

    /// <summary>
    /// An untrained classifier (784-16-10, seed 3) of the data in <paramref name="dataFolder"/>, as its file records
    /// it, for `eval` and `train --eval-every` on the tiny set: the committed MNIST classifier is refused there.
    /// </summary>
    public static string WriteTinyClassifier(string dataFolder, string path)
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var classifier = new Classifier(new KernelSet(device), 784, [16], 10, maxRows: 8);
        Initialization.LikePyTorch(classifier, Initialization.PhiloxUniform(3), 0);
        ClassifierFile.Save(path, classifier, MeasuredData.Load(dataFolder).Fingerprint!, epochs: 0, seed: 3, testAccuracy: 0.1);
        return path;
    }

    /// <summary>Writes the four IDX files of random images, labelled 0–9 in turn, into <see cref="Folder"/>/data.</summary>
    protected string WriteTinyMnist() => WriteTinyMnist(Folder.File("data"));

    /// <summary>The tiny set written into <paramref name="directory"/>, for suites that share one set across their tests.</summary>
    public static string WriteTinyMnist(string directory)
    {
        var rng = new Random(5);
        Directory.CreateDirectory(directory);
        foreach (var (images, labels, count) in new[] { ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", TrainImages), ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", TestImages) })
        {
            var pixels = new byte[count * 784];
            rng.NextBytes(pixels);
            IdxFile.WriteImages(Path.Combine(directory, images), new IdxImages(count, 28, 28, pixels));
            var header = new byte[] { 0, 0, 8, 1, 0, 0, (byte)(count >> 8), (byte)count };
            File.WriteAllBytes(Path.Combine(directory, labels), header.Concat(Enumerable.Range(0, count).Select(i => (byte)(i % 10))).ToArray());
        }
        return directory;
    }
}

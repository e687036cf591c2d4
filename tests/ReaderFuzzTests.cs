using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// Every file reader fed a few hundred mutated and truncated copies of a legitimate file (<see cref="FileFuzz"/>): each
/// read ends in a success or a failure the program reports as one line naming the file, within a second and within
/// twice the legitimate file's length plus 200 MB. In-process for speed, and a few through the real program, whose
/// exit code and standard error are what a user sees.
/// </summary>
public sealed class ReaderFuzzTests
{
    const int MutantsPerReader = 300;
    static readonly TimeSpan ReadLimit = TimeSpan.FromSeconds(10), ProgramLimit = TimeSpan.FromSeconds(60);

    TempFolder folder = null!;

    [SetUp]
    public void CreateFolder() => folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => folder.Dispose();

    /// <summary>A small config of every tensor kind a checkpoint holds: BatchNorm, D, and G's average.</summary>
    public static GanConfig TinyConfig => new()
    {
        BatchSize = 2, ZDim = 4, Image = new(1, 4, 4), GeneratorWidths = [8], DiscriminatorWidths = [6], GeneratorAverageDecay = 0.5,
    };

    /// <summary>A checkpoint of <paramref name="config"/> written without a device, its values counting up.</summary>
    public static void WriteCheckpoint(string path, GanConfig config, Func<Checkpoint.Header, Checkpoint.Header>? change = null,
        Dictionary<string, long>? lengths = null)
    {
        var sizes = config.Lengths();
        lengths ??= new Dictionary<string, long>
        {
            ["G.parameters"] = sizes.GeneratorParameters, ["G.adam_m"] = sizes.GeneratorParameters,
            ["G.adam_v"] = sizes.GeneratorParameters, ["G.state"] = sizes.GeneratorState,
            ["D.parameters"] = sizes.DiscriminatorParameters, ["D.adam_m"] = sizes.DiscriminatorParameters,
            ["D.adam_v"] = sizes.DiscriminatorParameters, ["D.state"] = 0,
            ["G_average.parameters"] = sizes.GeneratorParameters, ["G_average.state"] = sizes.GeneratorState,
        };
        var tensors = lengths.Select(t => (t.Key, Enumerable.Range(0, (int)t.Value).Select(i => i * 1e-3f).ToArray())).ToList();
        var header = new Checkpoint.Header(Checkpoint.Version, config, 12, 6, 6, TensorFile.Lengths(tensors), null);
        TensorFile.Write(path, "IGGANCK1", Checkpoint.Version, change?.Invoke(header) ?? header, tensors);
    }

    /// <summary>The state_dict of <see cref="TinyConfig"/>'s G as the seed's PyTorch module names it, with its recipe's metadata.</summary>
    public static void WriteGeneratorSafetensors(string path, GanConfig config,
        Action<List<(string Name, SafeTensor Tensor)>, Dictionary<string, string>>? change = null)
    {
        int z = config.ZDim, width = config.GeneratorWidths[0], pixels = config.ImagePixels;
        SafeTensor Floats(params int[] shape) =>
            SafeTensor.Float32(Enumerable.Range(0, shape.Aggregate(1, (a, b) => a * b)).Select(i => i * 1e-2f).ToArray(), shape);
        var tensors = new List<(string Name, SafeTensor Tensor)>
        {
            ("fc1.weight", Floats(width, z)), ("fc1.bias", Floats(width)), ("bn1.weight", Floats(width)), ("bn1.bias", Floats(width)),
            ("bn1.running_mean", Floats(width)), ("bn1.running_var", Floats(width)), ("bn1.num_batches_tracked", SafeTensor.Int64Scalar(4)),
            ("fc2.weight", Floats(pixels, width)), ("fc2.bias", Floats(pixels)),
        };
        var metadata = StateDict.Metadata(config, "generator", "raw", 2);
        change?.Invoke(tensors, metadata);
        Safetensors.Write(path, tensors, metadata);
    }

    public static void WriteClassifier(string path)
    {
        int[] widths = [8];
        var parameters = new float[ParameterLayout.OfLinears([16, .. widths, 10])];
        (string, float[])[] tensors = [("parameters", parameters)];
        var data = new DatasetFingerprint("fuzz", 5, 1, 4, 4, 10, new string('a', 64));
        var header = new ClassifierFile.Header(ClassifierFile.Version, 16, widths, 10, 1, 0, 0.5, TensorFile.Lengths(tensors), data);
        TensorFile.Write(path, "IGGANCL1", ClassifierFile.Version, header, tensors);
    }

    static byte[] IdxImages(bool gzipped)
    {
        var pixels = new byte[5 * 28 * 28];
        new Random(3).NextBytes(pixels);
        var bytes = IdxFileTests.Idx([5, 28, 28], pixels);
        return gzipped ? IdxFileTests.Gzip(bytes) : bytes;
    }

    void Fuzz(byte[] legitimate, Action<string> read, int seed, Func<byte[], byte[]>? sign = null)
    {
        var path = folder.File("mutant");
        File.WriteAllBytes(path, legitimate);
        Assert.DoesNotThrow(() => read(path), "the legitimate file reads");
        var mutants = FileFuzz.Mutants(legitimate, MutantsPerReader, seed);
        if (sign is not null)
            // The header's checks, not only the checksum's: as a writer that recomputes the checksum would.
            mutants = mutants.Concat(FileFuzz.Mutants(legitimate, MutantsPerReader, seed + 100).Select(m => ($"{m.What}, signed", sign(m.Bytes))));
        FileFuzz.AssertClean(FileFuzz.Run(path, mutants, read, ReadLimit), path, legitimate.Length);
    }

    /// <summary>A <see cref="TensorFile"/>'s bytes with the SHA-256 that ends them recomputed over the rest.</summary>
    static byte[] Signed(byte[] bytes) => bytes.Length < 32
        ? bytes
        : [.. bytes[..^32], .. System.Security.Cryptography.SHA256.HashData(bytes.AsSpan(0, bytes.Length - 32))];

    [Test]
    public void CheckpointReaderEndsCleanlyOnMutants()
    {
        WriteCheckpoint(folder.File("legitimate.ckpt"), TinyConfig);
        Fuzz(File.ReadAllBytes(folder.File("legitimate.ckpt")), path => Checkpoint.Read(path), seed: 1, Signed);
    }

    [Test]
    public void SafetensorsReaderAndRecipeEndCleanlyOnMutants()
    {
        WriteGeneratorSafetensors(folder.File("legitimate.safetensors"), TinyConfig);
        Fuzz(File.ReadAllBytes(folder.File("legitimate.safetensors")), path =>
        {
            var (_, metadata) = Safetensors.Read(path);
            StateDict.Apply(metadata, new GanConfig(), useCarriedConfig: true, path);
            StateDict.Apply(metadata, new GanConfig(), useCarriedConfig: false, path);
        }, seed: 2);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void IdxReaderEndsCleanlyOnMutants(bool gzipped) =>
        Fuzz(IdxImages(gzipped), path => IdxFile.ReadImages(path), seed: gzipped ? 4 : 3);

    [Test]
    public void ClassifierReaderEndsCleanlyOnMutants()
    {
        WriteClassifier(folder.File("legitimate.bin"));
        Fuzz(File.ReadAllBytes(folder.File("legitimate.bin")), path => ClassifierFile.Read(path), seed: 5, Signed);
    }

    /// <summary>Truncations, which no reader may take for a whole file, through the real program: exit 1 and one line.</summary>
    [Test]
    public void ProgramRefusesTruncatedFilesInOneLine()
    {
        var data = ProgramTests.WriteTinyMnist(folder.File("data"));
        WriteCheckpoint(folder.File("legitimate.ckpt"), TinyConfig);
        WriteGeneratorSafetensors(folder.File("legitimate.safetensors"), TinyConfig);
        var readers = new (byte[] Legitimate, Func<string, string[]> Arguments)[]
        {
            (File.ReadAllBytes(folder.File("legitimate.ckpt")), path => ["export", "--checkpoint", path, "--safetensors", folder.File("out.safetensors")]),
            (File.ReadAllBytes(folder.File("legitimate.safetensors")), path => ["import", "--safetensors", path, "--out", folder.File("imported")]),
            (IdxImages(gzipped: true), path => ["eval", "--samples", path, "--data", data, "--accelerator", "cpu"]),
        };
        var random = new Random(6);
        foreach (var (legitimate, arguments) in readers)
            for (int i = 0; i < 3; i++)
            {
                var path = folder.File($"truncated-{random.Next()}");
                File.WriteAllBytes(path, legitimate[..random.Next(legitimate.Length)]);
                ChildProgram.AssertOneLineFailure(ChildProgram.Run(ProgramLimit, arguments(path)), path);
            }
    }
}

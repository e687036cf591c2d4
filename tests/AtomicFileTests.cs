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

    /// <summary>A link planted at a temporary file's name, as a predictable writer would use it, is not written through.</summary>
    [Test]
    public void APlantedLinkIsNotWrittenThrough()
    {
        using var folder = new TempFolder();
        var outside = folder.File("outside.txt");
        File.WriteAllText(outside, "precious");
        var path = folder.File("run", "file.txt");
        Directory.CreateDirectory(folder.File("run"));
        File.CreateSymbolicLink(folder.File("run", $".file.txt.{Environment.ProcessId}.tmp"), outside);
        File.CreateSymbolicLink(path, outside);

        AtomicFile.WriteAllText(path, "new");

        Assert.That(File.ReadAllText(outside), Is.EqualTo("precious"));
        Assert.That(new FileInfo(path).LinkTarget, Is.Null, "the link at the target is replaced, not followed");
        Assert.That(File.ReadAllText(path), Is.EqualTo("new"));
    }

    /// <summary>Each write's temporary file has a name of its own, which no one can plant in advance.</summary>
    [Test]
    public void TemporaryNamesAreNotForetold()
    {
        using var folder = new TempFolder();
        var path = folder.File("file.txt");
        var names = new List<string>();
        for (int i = 0; i < 3; i++)
            AtomicFile.Write(path, _ => names.Add(Path.GetFileName(Directory.GetFiles(folder.Path).Single(f => f != path))));

        Assert.That(names, Is.Unique);
        Assert.That(names, Has.None.EqualTo($".file.txt.{Environment.ProcessId}.tmp"));
        Assert.That(names.Select(n => AtomicFile.IsTemporary(n, out var pid) ? pid : 0), Has.All.EqualTo(Environment.ProcessId));
    }
}

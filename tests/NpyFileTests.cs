namespace IlgpuGan.Tests;

public class NpyFileTests
{
    [TestCase(new[] { 2, 3, 4, 5 }, "(2, 3, 4, 5)")]
    [TestCase(new[] { 7 }, "(7,)")]
    public void NumpyLoadsWhatWeWrite(int[] shape, string tuple)
    {
        using var folder = new TempFolder();
        var path = folder.File("a.npy");
        int count = shape.Aggregate(1, (a, b) => a * b);
        NpyFile.WriteBytes(path, shape, file => file.Write(Enumerable.Range(0, count).Select(i => (byte)(i * 7 % 251)).ToArray()));

        Assert.That(File.ReadAllBytes(path).Length % 64, Is.EqualTo(count % 64), "the data starts at a multiple of 64 bytes");
        var python = PythonInterpreter.With("numpy", "numpy", "python3-numpy");
        Assert.That(PythonInterpreter.TryRun(python, ["-c",
            "import sys, numpy as np; a = np.load(sys.argv[1]); " +
            "assert (a.ravel() == (np.arange(a.size) * 7 % 251).astype(np.uint8)).all(); print(a.dtype, a.shape, a.flags['C_CONTIGUOUS'])", path],
            out var output, out var error), error);
        Assert.That(output.Trim(), Is.EqualTo($"uint8 {tuple} True"));
    }

    [Test]
    public void ItWritesExactlyTheShapesBytes()
    {
        using var folder = new TempFolder();
        Assert.Throws<ArgumentException>(() => NpyFile.WriteBytes(folder.File("a.npy"), [2, 2], file => file.Write(new byte[3])));
        Assert.That(File.Exists(folder.File("a.npy")), Is.False);
        Assert.Throws<ArgumentException>(() => NpyFile.WriteBytes(folder.File("a.npy"), [2, 0], _ => { }));
    }
}

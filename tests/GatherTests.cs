using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class GatherTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const int SourceRows = 50;

    Gather gather = null!;

    [OneTimeSetUp]
    public void LoadKernels() => gather = new Gather(Device);

    /// <summary>
    /// A batch from a shuffled index read from a nonzero start, with repeated rows and arbitrary order; the
    /// batch is NaN-poisoned one row past its end, and a gather copies, so every element must match exactly.
    /// </summary>
    [TestCase(1, 1), TestCase(7, 33), TestCase(33, 7), TestCase(5, 127), TestCase(64, 100), TestCase(3, 784)]
    public void RowsMatchReference(int rows, int width)
    {
        const int start = 3;
        var rng = new Random(rows * 1000 + width);
        var source = TestData.Uniform(rng, SourceRows * width);
        var index = Enumerable.Range(0, start + rows + 2).Select(_ => rng.Next(SourceRows)).ToArray();
        if (rows > 1) index[start + rows - 1] = index[start];
        index[start] = SourceRows - 1;
        using var sourceBuffer = TestData.Upload(Device, source);
        using var indexBuffer = Device.Accelerator.Allocate1D(index);
        using var batchBuffer = TestData.Poisoned(Device, (rows + 1) * width);

        gather.Rows(sourceBuffer.View, indexBuffer.View, start, batchBuffer.View, rows, width);

        var batch = TestData.Download(batchBuffer, (rows + 1) * width);
        var expected = new double[rows * width];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < width; c++)
                expected[r * width + c] = source[index[start + r] * width + c];
        TestData.AssertClose(expected, batch[..(rows * width)], 0, 0, "batch");
        Assert.That(batch[(rows * width)..].All(float.IsNaN), "nothing written past the batch");
    }
}

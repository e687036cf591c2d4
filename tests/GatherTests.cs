using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class GatherTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const int SourceRows = 50;

    Gather For(KernelVariant variant) => ForVariant(variant, (device, v) => new Gather(device, v));

    /// <summary>
    /// A batch from a shuffled index read from a nonzero start, with repeated rows and arbitrary order; the
    /// batch is NaN-poisoned one row past its end, and a gather copies, so every element must match exactly.
    /// </summary>
    public static IEnumerable<TestCaseData> Shapes() =>
        from variant in TestData.Variants
        from shape in new[] { (1, 1), (7, 33), (33, 7), (5, 127), (64, 100), (3, 784) }
        select new TestCaseData(shape.Item1, shape.Item2, variant);

    [TestCaseSource(nameof(Shapes))]
    public void RowsMatchReference(int rows, int width, KernelVariant variant)
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

        For(variant).Rows(sourceBuffer.View, indexBuffer.View, start, batchBuffer.View, rows, width);

        var batch = TestData.Download(batchBuffer, (rows + 1) * width);
        var expected = new double[rows * width];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < width; c++)
                expected[r * width + c] = source[index[start + r] * width + c];
        TestData.AssertClose(expected, batch[..(rows * width)], 0, 0, "batch");
        Assert.That(batch[(rows * width)..].All(float.IsNaN), "nothing written past the batch");
    }
}

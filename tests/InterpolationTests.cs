using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class InterpolationTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    Interpolation interpolation = null!;

    [OneTimeSetUp]
    public void LoadKernels() => interpolation = new Interpolation(Device);

    /// <summary>Every row against float64 slerp; the walk is NaN-poisoned one row past its end.</summary>
    [TestCase(2, 1, 1), TestCase(2, 5, 7), TestCase(3, 7, 33), TestCase(7, 16, 100), TestCase(5, 3, 127)]
    public void SlerpLoopMatchesReference(int points, int frames, int width)
    {
        var rng = new Random(points * 100 + frames * 10 + width);
        var anchors = TestData.Gaussian(rng, points * width);
        int rows = points * frames;
        using var anchorBuffer = TestData.Upload(Device, anchors);
        using var walkBuffer = TestData.Poisoned(Device, (rows + 1) * width);

        interpolation.SlerpLoop(anchorBuffer.View, points, frames, width, walkBuffer.View);

        var walk = TestData.Download(walkBuffer, (rows + 1) * width);
        TestData.AssertClose(Reference(anchors, points, frames, width), walk[..(rows * width)], 1e-4, 1e-5, "walk");
        Assert.That(walk[(rows * width)..].All(float.IsNaN), "nothing written past the walk");
        for (int point = 0; point < points; point++)
            Assert.That(walk[(point * frames * width)..((point * frames + 1) * width)],
                Is.EqualTo(anchors[(point * width)..((point + 1) * width)]), $"the leg from anchor {point} starts exactly on it");
    }

    /// <summary>Equal anchors have no angle between them: the walk stays on them instead of dividing 0 by 0.</summary>
    [Test]
    public void EqualAnchorsGiveAStraightWalk()
    {
        var anchor = TestData.Gaussian(new Random(1), 9);
        using var anchorBuffer = TestData.Upload(Device, [.. anchor, .. anchor]);
        using var walkBuffer = TestData.Poisoned(Device, 2 * 4 * 9);

        interpolation.SlerpLoop(anchorBuffer.View, 2, 4, 9, walkBuffer.View);

        var walk = TestData.Download(walkBuffer, 2 * 4 * 9);
        TestData.AssertClose(Enumerable.Range(0, 8).SelectMany(_ => TestData.ToDouble(anchor)).ToArray(), walk, 1e-6, 1e-6, "walk");
    }

    static double[] Reference(float[] anchors, int points, int frames, int width)
    {
        var walk = new double[points * frames * width];
        for (int row = 0; row < points * frames; row++)
        {
            int leg = row / frames, from = leg * width, to = (leg + 1) % points * width;
            double t = (double)(row % frames) / frames, dot = 0, fromSquares = 0, toSquares = 0;
            for (int i = 0; i < width; i++)
            {
                dot += (double)anchors[from + i] * anchors[to + i];
                fromSquares += (double)anchors[from + i] * anchors[from + i];
                toSquares += (double)anchors[to + i] * anchors[to + i];
            }
            double omega = Math.Acos(Math.Clamp(dot / Math.Sqrt(fromSquares * toSquares), -1, 1)), sine = Math.Sin(omega);
            // Parallel or opposite anchors (always so in one dimension) have no plane to turn in: a straight line.
            double weightFrom = sine < 1e-6 ? 1 - t : Math.Sin((1 - t) * omega) / sine, weightTo = sine < 1e-6 ? t : Math.Sin(t * omega) / sine;
            for (int i = 0; i < width; i++)
                walk[row * width + i] = weightFrom * anchors[from + i] + weightTo * anchors[to + i];
        }
        return walk;
    }
}

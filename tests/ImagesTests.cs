using IlgpuGan.Trainer;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuGan.Tests;

public class ImagesTests
{
    /// <summary>count samples whose pixel i of sample s is values[(s·7 + i) mod values.Length].</summary>
    static float[] Samples(int count, float[] values) =>
        Enumerable.Range(0, count * 784).Select(i => values[(i / 784 * 7 + i % 784) % values.Length]).ToArray();

    static readonly float[] Values = [-1f, 1f, 0f, -0.5f, 0.3f, 1.5f, -2f, 0.999f, -0.001f, float.NaN, 0.5f];

    [Test]
    public void GridPixelsAreTheMappedSamplesInsideABlackBorder()
    {
        var samples = Samples(3, Values);

        using var grid = (Image<L8>)Images.Grid(samples, ImageShape.Mnist, columns: 2, border: 2);

        Assert.That((grid.Width, grid.Height), Is.EqualTo((2 * 30 + 2, 2 * 30 + 2)));
        int borderPixels = 0;
        for (int y = 0; y < grid.Height; y++)
        for (int x = 0; x < grid.Width; x++)
        {
            int column = (x - 2) / 30, row = (y - 2) / 30, cx = (x - 2) % 30, cy = (y - 2) % 30;
            bool inSample = x >= 2 && y >= 2 && cx < 28 && cy < 28 && row * 2 + column < 3;
            byte expected = inSample ? MnistDataset.FloatToPixel(samples[(row * 2 + column) * 784 + cy * 28 + cx]) : (byte)0;
            Assert.That(grid[x, y].PackedValue, Is.EqualTo(expected), $"pixel ({x}, {y})");
            if (!inSample) borderPixels++;
        }
        Assert.That(borderPixels, Is.EqualTo(62 * 62 - 3 * 784));
        Assert.That(grid[2, 2].PackedValue, Is.EqualTo(0));   // −1
        Assert.That(grid[3, 2].PackedValue, Is.EqualTo(255)); // 1
        Assert.That(grid[4, 2].PackedValue, Is.EqualTo(128)); // 0
        Assert.That(grid[5, 2].PackedValue, Is.EqualTo(64));  // −0.5
        Assert.That(grid[32, 2].PackedValue, Is.EqualTo(255)); // sample 1 starts at Values[7] = 0.999
    }

    [Test]
    public void SixtyFourSamplesMakeAnEightByEightGrid()
    {
        using var grid = Images.Grid(Samples(64, Values), ImageShape.Mnist);

        Assert.That((grid.Width, grid.Height), Is.EqualTo((8 * 30 + 2, 8 * 30 + 2)));
    }

    [Test]
    public void ScalingRepeatsEachPixel()
    {
        var samples = Samples(2, Values);
        using var small = (Image<L8>)Images.Grid(samples, ImageShape.Mnist, columns: 8, border: 1);
        using var large = (Image<L8>)Images.Grid(samples, ImageShape.Mnist, columns: 8, border: 1, scale: 3);

        Assert.That((small.Width, small.Height), Is.EqualTo((2 * 29 + 1, 29 + 1)));
        Assert.That((large.Width, large.Height), Is.EqualTo((small.Width * 3, small.Height * 3)));
        for (int y = 0; y < large.Height; y++)
        for (int x = 0; x < large.Width; x++)
            Assert.That(large[x, y], Is.EqualTo(small[x / 3, y / 3]), $"pixel ({x}, {y})");
    }

    [Test]
    public void SampleCountMustBeWhole()
    {
        Assert.Throws<ArgumentException>(() => Images.Grid(new float[785], ImageShape.Mnist));
        Assert.Throws<ArgumentException>(() => Images.Grid([], ImageShape.Mnist));
    }

    [Test]
    public void GifHasOneExactFramePerGridAndLoopsForever()
    {
        using var folder = new TempFolder();
        var grids = Enumerable.Range(0, 5).Select(f => (Image<L8>)Images.Grid(Samples(4, Values.Skip(f).Concat(Values.Take(f)).ToArray()), ImageShape.Mnist)).ToList();
        try
        {
            Images.SaveGif(folder.File("progress.gif"), grids, frameDelayMs: 200);

            using var gif = Image.Load<L8>(folder.File("progress.gif"));
            Assert.That(gif.Frames.Count, Is.EqualTo(5));
            Assert.That(gif.Metadata.GetGifMetadata().RepeatCount, Is.EqualTo(0));
            for (int f = 0; f < 5; f++)
            {
                Assert.That(gif.Frames[f].Metadata.GetGifMetadata().FrameDelay, Is.EqualTo(20));
                for (int y = 0; y < gif.Height; y++)
                for (int x = 0; x < gif.Width; x++)
                    if (gif.Frames[f][x, y] != grids[f][x, y])
                        Assert.Fail($"frame {f} pixel ({x}, {y}) is {gif.Frames[f][x, y]}, grid has {grids[f][x, y]}");
            }
        }
        finally
        {
            grids.ForEach(g => g.Dispose());
        }
    }
}

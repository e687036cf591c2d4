using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing.Processors.Quantization;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Imaging;

/// <summary>Pictures of training: sample grids, their animation, and the loss curves.</summary>
public static class Images
{
    /// <summary>
    /// Lays out 28×28 samples (floats in [−1, 1], one after another) as torchvision's make_grid does:
    /// <paramref name="columns"/> per row, a black border of <paramref name="border"/> pixels around and
    /// between them; each pixel mapped by <see cref="MnistDataset.FloatToPixel"/>, then the whole grid
    /// enlarged <paramref name="scale"/> times by pixel repetition.
    /// </summary>
    public static Image<L8> Grid(ReadOnlySpan<float> samples, int columns = 8, int border = 2, int scale = 1)
    {
        const int side = MnistDataset.Side;
        if (samples.Length == 0 || samples.Length % MnistDataset.PixelsPerImage != 0)
            throw new ArgumentException($"{samples.Length} floats are not a whole number of 28×28 samples");
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(border);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);

        int count = samples.Length / MnistDataset.PixelsPerImage;
        columns = Math.Min(columns, count);
        int rows = (count + columns - 1) / columns;
        int cell = side + border;
        var grid = new Image<L8>((columns * cell + border) * scale, (rows * cell + border) * scale);
        for (int sample = 0; sample < count; sample++)
        {
            int left = border + sample % columns * cell, top = border + sample / columns * cell;
            for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++)
            {
                var pixel = new L8(MnistDataset.FloatToPixel(samples[(sample * side + y) * side + x]));
                for (int dy = 0; dy < scale; dy++)
                for (int dx = 0; dx < scale; dx++)
                    grid[(left + x) * scale + dx, (top + y) * scale + dy] = pixel;
            }
        }
        return grid;
    }

    /// <summary>Writes an image as a PNG file, atomically.</summary>
    public static void SavePng(string path, Image image) => AtomicFile.Write(path, stream => image.SaveAsPng(stream));

    /// <summary>
    /// Writes grids (all one size) as an animated GIF looping forever, each frame shown frameDelayMs
    /// (GIF counts in hundredths of a second). A fixed grey palette without dithering keeps every frame's
    /// pixels exactly those of its grid.
    /// </summary>
    public static void SaveGif(string path, IReadOnlyList<Image<L8>> grids, int frameDelayMs = 100)
    {
        if (grids.Count == 0) throw new ArgumentException("no frames for the GIF");
        using var animation = grids[0].Clone();
        foreach (var grid in grids.Skip(1))
        {
            if (grid.Size() != animation.Size())
                throw new ArgumentException($"frame of {grid.Size()} in a GIF of {animation.Size()}");
            animation.Frames.AddFrame(grid.Frames.RootFrame);
        }
        foreach (var frame in animation.Frames)
            frame.Metadata.GetGifMetadata().FrameDelay = Math.Max(1, (frameDelayMs + 5) / 10);
        animation.Metadata.GetGifMetadata().RepeatCount = 0;

        var greys = Enumerable.Range(0, 256).Select(v => Color.FromRgb((byte)v, (byte)v, (byte)v)).ToArray();
        var encoder = new GifEncoder
        {
            ColorTableMode = GifColorTableMode.Global,
            Quantizer = new PaletteQuantizer(greys, new QuantizerOptions { Dither = null }),
        };
        AtomicFile.Write(path, stream => animation.SaveAsGif(stream, encoder));
    }
}

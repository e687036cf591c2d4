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
    /// Lays out samples of <paramref name="shape"/> (floats in [−1, 1], C·H·W after one another) as torchvision's
    /// make_grid does: <paramref name="columns"/> per row, a black border of <paramref name="border"/> pixels around
    /// and between them; each value mapped by <see cref="MnistDataset.FloatToPixel"/>, then the whole grid enlarged
    /// <paramref name="scale"/> times by pixel repetition. Greyscale samples make an <see cref="Image{L8}"/>, RGB
    /// ones (planes R, G, B) an <see cref="Image{Rgb24}"/>.
    /// </summary>
    public static Image Grid(ReadOnlySpan<float> samples, ImageShape shape, int columns = 8, int border = 2, int scale = 1)
    {
        int pixels = shape.Pixels;
        if (samples.Length == 0 || samples.Length % pixels != 0)
            throw new ArgumentException($"{samples.Length} floats are not a whole number of {shape} samples");
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(border);
        ArgumentOutOfRangeException.ThrowIfLessThan(scale, 1);

        int count = samples.Length / pixels, plane = shape.Height * shape.Width;
        columns = Math.Min(columns, count);
        int rows = (count + columns - 1) / columns;
        int width = (columns * (shape.Width + border) + border) * scale, height = (rows * (shape.Height + border) + border) * scale;
        Image<L8>? grey = shape.IsColour ? null : new Image<L8>(width, height);
        Image<Rgb24>? colour = shape.IsColour ? new Image<Rgb24>(width, height) : null;
        for (int sample = 0; sample < count; sample++)
        {
            int left = border + sample % columns * (shape.Width + border), top = border + sample / columns * (shape.Height + border);
            for (int y = 0; y < shape.Height; y++)
            for (int x = 0; x < shape.Width; x++)
            {
                int at = sample * pixels + y * shape.Width + x;
                byte value = MnistDataset.FloatToPixel(samples[at]);
                var rgb = colour is null ? default
                    : new Rgb24(value, MnistDataset.FloatToPixel(samples[at + plane]), MnistDataset.FloatToPixel(samples[at + 2 * plane]));
                for (int dy = 0; dy < scale; dy++)
                for (int dx = 0; dx < scale; dx++)
                {
                    int gx = (left + x) * scale + dx, gy = (top + y) * scale + dy;
                    if (colour is null) grey![gx, gy] = new L8(value);
                    else colour[gx, gy] = rgb;
                }
            }
        }
        return (Image?)grey ?? colour!;
    }

    /// <summary>Writes an image as a PNG file, atomically.</summary>
    public static void SavePng(string path, Image image) => AtomicFile.Write(path, stream => image.SaveAsPng(stream));

    /// <summary>
    /// Writes grids (all one size) as an animated GIF looping forever, each frame shown frameDelayMs
    /// (GIF counts in hundredths of a second). Greyscale grids get a fixed grey palette without dithering, which
    /// keeps every frame's pixels exactly those of its grid; colour grids get a palette of their own per frame.
    /// </summary>
    public static void SaveGif(string path, IReadOnlyList<Image> grids, int frameDelayMs = 100)
    {
        if (grids.Count == 0) throw new ArgumentException("no frames for the GIF");
        using var animation = grids[0].CloneAs<Rgb24>();
        foreach (var grid in grids.Skip(1))
        {
            if (grid.Size() != animation.Size())
                throw new ArgumentException($"frame of {grid.Size()} in a GIF of {animation.Size()}");
            using var frame = grid.CloneAs<Rgb24>();
            animation.Frames.AddFrame(frame.Frames.RootFrame);
        }
        foreach (var frame in animation.Frames)
            frame.Metadata.GetGifMetadata().FrameDelay = Math.Max(1, (frameDelayMs + 5) / 10);
        animation.Metadata.GetGifMetadata().RepeatCount = 0;

        var exact = new QuantizerOptions { Dither = null };
        var encoder = grids.All(grid => grid is Image<L8>)
            ? new GifEncoder
            {
                ColorTableMode = GifColorTableMode.Global,
                Quantizer = new PaletteQuantizer(Enumerable.Range(0, 256).Select(v => Color.FromRgb((byte)v, (byte)v, (byte)v)).ToArray(), exact),
            }
            : new GifEncoder { ColorTableMode = GifColorTableMode.Local, Quantizer = new WuQuantizer(exact) };
        AtomicFile.Write(path, stream => animation.SaveAsGif(stream, encoder));
    }
}

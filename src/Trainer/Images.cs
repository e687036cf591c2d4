using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Gif;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing.Processors.Quantization;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>The losses logged at one training step.</summary>
public readonly record struct LossPoint(long Step, float DLoss, float GLoss);

/// <summary>Pictures of training: sample grids, their animation, and the loss curves.</summary>
public static class Images
{
    /// <summary>The discriminator's curve colour (matplotlib's default first).</summary>
    public static readonly Rgba32 DLossColour = new(31, 119, 180);

    /// <summary>The generator's curve colour (matplotlib's second).</summary>
    public static readonly Rgba32 GLossColour = new(255, 127, 14);

    static readonly Rgba32 Background = new(255, 255, 255);
    static readonly Rgba32 AxisColour = new(0, 0, 0);

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

    /// <summary>
    /// Plots d_loss and g_loss against step on white: axes, the two polylines (non-finite losses break a
    /// line), and a legend swatch per curve marked D and G. The loss axis starts at 0 or below.
    /// </summary>
    public static Image<Rgba32> LossPlot(IReadOnlyList<LossPoint> points, int width = 800, int height = 400)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(width, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, 100);
        var plot = new Image<Rgba32>(width, height, Background);
        int left = 40, right = width - 20, top = 20, bottom = height - 40;
        DrawLine(plot, left, top, left, bottom, AxisColour);
        DrawLine(plot, left, bottom, right, bottom, AxisColour);

        var losses = points.SelectMany(p => new[] { p.DLoss, p.GLoss }).Where(float.IsFinite).ToList();
        if (losses.Count > 0)
        {
            long firstStep = points.Min(p => p.Step), lastStep = points.Max(p => p.Step);
            double lowest = Math.Min(0, losses.Min()), highest = losses.Max();
            if (highest <= lowest) highest = lowest + 1;
            int X(long step) => left + (int)Math.Round((step - firstStep) * (double)(right - left) / Math.Max(1, lastStep - firstStep));
            int Y(float loss) => bottom - (int)Math.Round((loss - lowest) * (bottom - top) / (highest - lowest));
            DrawCurve(plot, points, p => p.DLoss, X, Y, DLossColour);
            DrawCurve(plot, points, p => p.GLoss, X, Y, GLossColour);
        }

        DrawSwatch(plot, right - 40, top + 4, DLossColour, LetterD);
        DrawSwatch(plot, right - 40, top + 20, GLossColour, LetterG);
        return plot;
    }

    static void DrawCurve(Image<Rgba32> plot, IReadOnlyList<LossPoint> points, Func<LossPoint, float> loss,
        Func<long, int> x, Func<float, int> y, Rgba32 colour)
    {
        (int X, int Y)? previous = null;
        foreach (var point in points)
        {
            float value = loss(point);
            if (!float.IsFinite(value))
            {
                previous = null;
                continue;
            }
            var current = (x(point.Step), y(value));
            var from = previous ?? current;
            DrawLine(plot, from.Item1, from.Item2, current.Item1, current.Item2, colour);
            previous = current;
        }
    }

    /// <summary>Bresenham's line, all octants, clipped pixel by pixel to the image.</summary>
    static void DrawLine(Image<Rgba32> image, int x0, int y0, int x1, int y1, Rgba32 colour)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int stepX = x0 < x1 ? 1 : -1, stepY = y0 < y1 ? 1 : -1;
        for (int error = dx + dy; ;)
        {
            if ((uint)x0 < image.Width && (uint)y0 < image.Height) image[x0, y0] = colour;
            if (x0 == x1 && y0 == y1) return;
            int twice = 2 * error;
            if (twice >= dy) { error += dy; x0 += stepX; }
            if (twice <= dx) { error += dx; y0 += stepY; }
        }
    }

    static readonly string[] LetterD = ["####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."];
    static readonly string[] LetterG = [".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###."];

    /// <summary>A 16-pixel stroke of the curve's colour followed by its letter, drawn from a 5×7 bitmap.</summary>
    static void DrawSwatch(Image<Rgba32> plot, int x, int y, Rgba32 colour, string[] letter)
    {
        for (int thickness = 0; thickness < 3; thickness++)
            DrawLine(plot, x, y + 2 + thickness, x + 15, y + 2 + thickness, colour);
        for (int row = 0; row < letter.Length; row++)
        for (int column = 0; column < letter[row].Length; column++)
            if (letter[row][column] == '#')
                plot[x + 20 + column, y + row] = AxisColour;
    }
}

using IlgpuGan.Kernels;
using IlgpuGan.Model;
using SixLabors.ImageSharp;

namespace IlgpuGan.Model.Imaging;

/// <summary>The fixed z decoded by G into the grids of samples/ and progress.gif.</summary>
public sealed class SampleGrid : IDisposable
{
    readonly Gan gan;
    readonly MemoryBuffer1D<float, Stride1D.Dense> noise, pixels;
    readonly int count;

    /// <summary>Draws <paramref name="count"/> fixed noise vectors for <paramref name="gan"/>'s generator.</summary>
    public SampleGrid(KernelSet kernels, Gan gan, int count)
    {
        this.gan = gan;
        this.count = count;
        var accelerator = kernels.Device.Accelerator;
        noise = accelerator.Allocate1D<float>((long)count * gan.Config.ZDim);
        pixels = accelerator.Allocate1D<float>((long)count * gan.Config.ImagePixels);
        kernels.Random.Gaussian(noise.View, count * gan.Config.ZDim, gan.Config.Seed, RandomStreams.FixedSampleStream());
    }

    /// <summary>
    /// Writes the grid, and the GIF of every grid so far. Draws in train mode as the reference does, without
    /// touching the running statistics.
    /// </summary>
    public void Save(string path, string gifPath)
    {
        gan.SamplingGenerator.Forward(noise.View, count, ForwardMode.BatchStatistics, pixels.View);
        using (var grid = Images.Grid(pixels.GetAsArray1D(), gan.Config.Image, columns: 8))
            Images.SavePng(path, grid);
        SaveProgressGif(Path.GetDirectoryName(path)!, gifPath);
    }

    /// <summary>progress.gif of the grids in <paramref name="samplesFolder"/>, in epoch order; removed when there are none.</summary>
    public static void SaveProgressGif(string samplesFolder, string gifPath)
    {
        var frames = new List<Image>();
        try
        {
            foreach (var file in InEpochOrder(samplesFolder))
            {
                frames.Add(LoadGrid(file));
                if (frames[^1].Size() != frames[0].Size())
                    throw new DataFormatException(file, $"a grid of {frames[^1].Width}×{frames[^1].Height} pixels among grids of {frames[0].Width}×{frames[0].Height}");
            }
            if (frames.Count == 0) File.Delete(gifPath);
            else Images.SaveGif(gifPath, frames);
        }
        finally { frames.ForEach(f => f.Dispose()); }
    }

    /// <summary>
    /// The grids of a samples folder, epoch_NNN.png, in epoch order: the numbers have three digits at least, so a
    /// longer name is a later epoch (epoch_1000.png after epoch_999.png).
    /// </summary>
    public static IReadOnlyList<string> InEpochOrder(string samplesFolder) =>
        Directory.Exists(samplesFolder)
            ? Directory.GetFiles(samplesFolder, "epoch_*.png").OrderBy(f => f.Length).ThenBy(f => f, StringComparer.Ordinal).ToList()
            : [];

    /// <summary>A grid of the samples folder, which anyone may have replaced: refused unless it is a PNG of a grid's size.</summary>
    static Image LoadGrid(string path)
    {
        const int maxSide = 4096;
        if (RegularFile.Length(path, 8, "a PNG sample grid") > (long)maxSide * maxSide)
            throw new DataFormatException(path, "larger than a sample grid can be");
        try
        {
            var info = Image.Identify(path) ?? throw new UnknownImageFormatException("not a known image format");
            if (info.Width > maxSide || info.Height > maxSide)
                throw new DataFormatException(path, $"{info.Width}×{info.Height} pixels, larger than a sample grid can be");
            return Image.Load(path);
        }
        catch (ImageFormatException e)
        {
            throw new DataFormatException(path, $"not a PNG sample grid ({e.GetType().Name})");
        }
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        noise.Dispose();
        pixels.Dispose();
    }
}

using IlgpuGan.Kernels;
using IlgpuGan.Model;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace IlgpuGan.Trainer;

/// <summary>The fixed z decoded by G into the grids of samples/ and progress.gif.</summary>
public sealed class SampleGrid : IDisposable
{
    readonly Gan gan;
    readonly MemoryBuffer1D<float, Stride1D.Dense> noise, pixels;
    readonly int count;

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
        using (var grid = Images.Grid(pixels.GetAsArray1D(), columns: 8))
            Images.SavePng(path, grid);
        SaveProgressGif(Path.GetDirectoryName(path)!, gifPath);
    }

    /// <summary>progress.gif of the grids in <paramref name="samplesFolder"/>, in epoch order; removed when there are none.</summary>
    public static void SaveProgressGif(string samplesFolder, string gifPath)
    {
        var frames = Directory.GetFiles(samplesFolder, "epoch_*.png").Order(StringComparer.Ordinal)
            .Select(f => Image.Load<L8>(f)).ToList();
        try
        {
            if (frames.Count == 0) File.Delete(gifPath);
            else Images.SaveGif(gifPath, frames);
        }
        finally { frames.ForEach(f => f.Dispose()); }
    }

    public void Dispose()
    {
        noise.Dispose();
        pixels.Dispose();
    }
}

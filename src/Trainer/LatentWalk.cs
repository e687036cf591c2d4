using IlgpuGan.Kernels;
using IlgpuGan.Model;
using SixLabors.ImageSharp;

namespace IlgpuGan.Trainer;

/// <summary>What `interpolate` draws: a closed walk through random points of z, and where its pictures go.</summary>
public sealed record LatentWalkOptions
{
    public required string Checkpoint { get; init; }
    public int Points { get; init; } = 5;
    public int Frames { get; init; } = 16;
    public ulong Seed { get; init; }
    public SampleMode Mode { get; init; } = SampleMode.Train;
    public required string GifPath { get; init; }
    public required string PngPath { get; init; }
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
}

/// <summary>
/// The `interpolate` command: a generator's samples along a spherical walk through Points random z, Frames per
/// leg, as an animated GIF and a PNG strip with one leg per row. Every frame goes through G in ONE batch, so in
/// train mode BatchNorm normalises all frames by the same statistics and the animation does not flicker.
/// </summary>
public static class LatentWalk
{
    const int GifScale = 4, GifFrameMs = 80;

    public static void Run(LatentWalkOptions options, TextWriter output)
    {
        var contents = Model.Checkpoint.Read(options.Checkpoint);
        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        var pixels = Draw(kernels, contents, options.Checkpoint, options.Points, options.Frames, options.Seed, options.Mode);

        using (var strip = Images.Grid(pixels, columns: options.Frames))
            AtomicFile.Write(options.PngPath, stream => strip.SaveAsPng(stream));
        var frames = Enumerable.Range(0, options.Points * options.Frames)
            .Select(f => Images.Grid(pixels.AsSpan(f * MnistDataset.PixelsPerImage, MnistDataset.PixelsPerImage), scale: GifScale))
            .ToList();
        try { Images.SaveGif(options.GifPath, frames, GifFrameMs); }
        finally { frames.ForEach(frame => frame.Dispose()); }
        output.WriteLine($"wrote a walk through {options.Points} points, {options.Frames} frames each, to {options.GifPath} and {options.PngPath}");
    }

    /// <summary>The anchors: Points draws of z from the seed's latent-walk stream, [Points, zDim].</summary>
    public static void DrawAnchors(KernelSet kernels, ArrayView<float> anchors, int points, int zDim, ulong seed) =>
        kernels.Random.Gaussian(anchors, points * zDim, seed, RandomStreams.LatentWalkStream());

    /// <summary>The walk's Points·Frames samples in [−1, 1], leg by leg, from a GAN restored with one batch for all of them.</summary>
    public static float[] Draw(KernelSet kernels, Checkpoint.Contents contents, string checkpointPath, int points, int frames,
        ulong seed, SampleMode mode)
    {
        int rows = points * frames, zDim = contents.Header.Config.ZDim;
        using var gan = Sampling.Restore(kernels, contents with { Header = contents.Header with { Config = contents.Header.Config with { BatchSize = rows } } },
            checkpointPath);
        var accelerator = kernels.Device.Accelerator;
        using var anchors = accelerator.Allocate1D<float>((long)points * zDim);
        using var walk = accelerator.Allocate1D<float>((long)rows * zDim);
        DrawAnchors(kernels, anchors.View, points, zDim, seed);
        new Interpolation(kernels.Device).SlerpLoop(anchors.View, points, frames, zDim, walk.View);
        var images = gan.SamplingGenerator.Forward(walk.View, rows,
            mode == SampleMode.Train ? ForwardMode.BatchStatistics : ForwardMode.Eval);
        return images.SubView(0, (long)rows * gan.Config.ImagePixels).GetAsArray();
    }
}

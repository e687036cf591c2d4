using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `interpolate` draws: a closed walk through random points of z, and where its pictures go.</summary>
public sealed record InterpolateOptions
{
    public string Checkpoint { get; init; } = Recipes.RunFolder(Recipes.Default);
    public int Points { get; init; } = 5;
    public int Frames { get; init; } = 16;
    public ulong Seed { get; init; }
    public SampleMode Mode { get; init; } = SampleMode.Train;
    public string Gif { get; init; } = "interpolation.gif";
    public string Png { get; init; } = "interpolation.png";
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
}

/// <summary>`interpolate`: a latent walk from a checkpoint, as an animated GIF and a PNG strip with one leg per row.</summary>
public static class InterpolateCommand
{
    const int GifScale = 4, GifFrameMs = 80;

    public static Command Create(TextWriter output) =>
        Command.Of("interpolate", "draws a latent walk: samples along a spherical path through random z, as a GIF and a PNG strip",
            Read, options => Run(options, output));

    static InterpolateOptions Read(CommandArgs args)
    {
        var defaults = new InterpolateOptions();
        return new InterpolateOptions
        {
            Checkpoint = args.Path("checkpoint", defaults.Checkpoint, "checkpoint, or a run folder, to draw from"),
            Points = args.Int("points", defaults.Points, "random points of z the closed walk passes through", min: 2, max: 256),
            Frames = args.Int("frames", defaults.Frames, "frames from one point to the next", min: 1, max: 256),
            Seed = (ulong)args.Int("seed", (int)defaults.Seed, "seed of the points", min: 0),
            Mode = args.Choice("bn", defaults.Mode, "BatchNorm statistics: train (all frames as one batch) or eval (running statistics)"),
            Gif = args.Path("gif", defaults.Gif, "animated GIF to write"),
            Png = args.Path("png", defaults.Png, "PNG strip to write, one row per leg"),
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
        };
    }

    public static void Run(InterpolateOptions options, TextWriter output)
    {
        if ((long)options.Points * options.Frames > 4096)
            throw new UsageException($"--points × --frames is {options.Points * options.Frames}; at most 4,096 frames go through G as one batch");
        var checkpoint = RunFolder.CheckpointOf(options.Checkpoint);
        OutputPath.Check("png", options.Png, checkpoint);
        OutputPath.Check("gif", options.Gif, checkpoint);
        var contents = Checkpoint.Read(checkpoint);
        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var shape = contents.Header.Config.Image;
        var pixels = LatentWalk.Draw(new KernelSet(device), contents, checkpoint, options.Points, options.Frames, options.Seed, options.Mode);

        using (var strip = Images.Grid(pixels, shape, columns: options.Frames))
            Images.SavePng(options.Png, strip);
        var frames = Enumerable.Range(0, options.Points * options.Frames)
            .Select(f => Images.Grid(pixels.AsSpan(f * shape.Pixels, shape.Pixels), shape, scale: GifScale))
            .ToList();
        try { Images.SaveGif(options.Gif, frames, GifFrameMs); }
        finally { frames.ForEach(frame => frame.Dispose()); }
        output.WriteLine($"wrote a walk through {options.Points} points, {options.Frames} frames each, to {options.Gif} and {options.Png}");
    }
}

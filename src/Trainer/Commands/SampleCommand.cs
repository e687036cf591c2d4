using System.Diagnostics;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `sample` was asked to draw.</summary>
public sealed record SampleOptions
{
    public string Checkpoint { get; init; } = Path.Combine(Recipes.RunFolder(Recipes.Default), RunFolder.CheckpointFile);
    public int Count { get; init; } = 64;
    /// <summary>The PNG grid of the first <see cref="SampleCommand.MaxGridSamples"/> samples; null: none.</summary>
    public string? Png { get; init; } = "samples.png";
    /// <summary>A folder of one PNG per sample, the layout FID tools read; null: none.</summary>
    public string? PngDir { get; init; }
    /// <summary>The IDX file of greyscale samples; null: <see cref="SampleCommand.DefaultIdx"/> for greyscale, none for colour.</summary>
    public string? Idx { get; init; }
    /// <summary>A NumPy file of the samples as uint8 [N, C, H, W]; null: none.</summary>
    public string? Npy { get; init; }
    public SampleMode Mode { get; init; } = SampleMode.Train;
    public ulong Seed { get; init; } = 1;
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
}

/// <summary>`sample`: a trained generator's images as a PNG grid, MNIST-format bytes (greyscale) and a NumPy array.</summary>
public static class SampleCommand
{
    /// <summary>The most samples the PNG grid shows (64×64): a grid of a million would be a picture of 800 MB.</summary>
    public const int MaxGridSamples = 4096;

    public const string DefaultIdx = "samples-idx3-ubyte";

    static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(10);

    public static Command Create(TextWriter output) =>
        Command.Of("sample", "draws samples from a checkpoint as a PNG grid and an IDX ubyte file", Read, options => Run(options, output));

    static SampleOptions Read(CommandArgs args)
    {
        var defaults = new SampleOptions();
        var options = new SampleOptions
        {
            Checkpoint = args.Path("checkpoint", defaults.Checkpoint, "checkpoint, or a run folder, to sample from"),
            Count = args.Int("count", defaults.Count, "samples to draw", min: 1, max: 1_000_000),
            Png = args.Path("png", defaults.Png, $"PNG grid of the first {MaxGridSamples} samples at most"),
            PngDir = args.Path("png-dir", null, "folder to write one PNG per sample into, named by index (000000.png, …), as pytorch-fid and clean-fid read"),
            Idx = args.Path("idx", null, $"IDX file to write (MNIST's format, N×H×W bytes; greyscale only; default {DefaultIdx}, none for colour)"),
            Npy = args.Path("npy", null, "NumPy .npy file to write: uint8 [N, C, H, W], numpy.load reads it"),
            Mode = args.Choice("bn", defaults.Mode, "BatchNorm statistics: train (batches of the training batch size, as the seed samples) or eval (running statistics)"),
            Seed = (ulong)args.Int("seed", (int)defaults.Seed, "seed of the samples' noise", min: 0),
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
        };
        return args.Flag("no-png", "write no PNG grid") ? options with { Png = null } : options;
    }

    public static void Run(SampleOptions options, TextWriter output)
    {
        var checkpoint = RunFolder.CheckpointOf(options.Checkpoint);
        OutputPath.Check("idx", options.Idx ?? DefaultIdx, checkpoint);
        OutputPath.Check("npy", options.Npy, checkpoint);
        OutputPath.Check("png", options.Png, checkpoint);
        var contents = Checkpoint.Read(checkpoint);
        var shape = contents.Header.Config.Image;
        if (shape.IsColour && options.Idx is not null)
            throw new CheckpointException($"{checkpoint}: draws {shape} colour images, and an IDX file (--idx) holds greyscale; write them with --npy or --png-dir");
        var idx = options.Idx ?? (shape.IsColour ? null : DefaultIdx);
        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        using var gan = Sampling.Restore(kernels, contents, checkpoint);

        int pixelsPerImage = shape.Pixels;
        var grid = new float[(options.Png is null ? 0 : Math.Min(options.Count, MaxGridSamples)) * pixelsPerImage];
        if (options.PngDir is { } folder) Directory.CreateDirectory(folder);
        var clock = Stopwatch.StartNew();
        var reported = TimeSpan.Zero;
        var bytes = new byte[Math.Min(gan.Config.BatchSize, options.Count) * pixelsPerImage];
        // The files are written a batch at a time, so that a million samples hold no more memory than one batch.
        Optional(idx, write => IdxFile.WriteImages(idx!, options.Count, shape.Height, shape.Width, write), idxFile =>
        Optional(options.Npy, write => NpyFile.WriteBytes(options.Npy!, [options.Count, shape.Channels, shape.Height, shape.Width], write), npyFile =>
            Sampling.DrawBatches(kernels, gan, options.Count, options.Mode, options.Seed, (start, pixels) =>
            {
                for (int i = 0; i < pixels.Length; i++) bytes[i] = MnistDataset.FloatToPixel(pixels[i]);
                idxFile?.Write(bytes, 0, pixels.Length);
                npyFile?.Write(bytes, 0, pixels.Length);
                long offset = (long)start * pixelsPerImage;
                if (offset < grid.Length) pixels[..(int)Math.Min(pixels.Length, grid.Length - offset)].CopyTo(grid.AsSpan((int)offset));
                if (options.PngDir is { } pngDir) WritePngs(pngDir, start, pixels, shape);
                if (clock.Elapsed - reported >= ProgressInterval)
                {
                    reported = clock.Elapsed;
                    output.WriteLine($"sampled {start + pixels.Length / pixelsPerImage}/{options.Count}");
                }
            })));
        if (options.Png is { } png)
        {
            using var image = Images.Grid(grid, shape, columns: (int)Math.Ceiling(Math.Sqrt(grid.Length / pixelsPerImage)));
            Images.SavePng(png, image);
        }
        var written = new[] { idx, options.Npy }.OfType<string>().ToList();
        output.WriteLine($"wrote {options.Count} samples" + (written.Count == 0 ? "" : $" to {string.Join(" and ", written)}") +
            (options.PngDir is null ? "" : $", one PNG each to {options.PngDir}") +
            (options.Png is null ? "" : $", the first {grid.Length / pixelsPerImage} as a grid to {options.Png}"));
    }

    /// <summary>Runs <paramref name="body"/> with the stream <paramref name="open"/> writes a file through, or with null when there is no path.</summary>
    static void Optional(string? path, Action<Action<Stream>> open, Action<Stream?> body)
    {
        if (path is null) body(null);
        else open(stream => body(stream));
    }

    /// <summary>One PNG per sample, greyscale or RGB as the samples are, numbered from 0 with six digits so that names sort as indices.</summary>
    static void WritePngs(string folder, int start, ReadOnlySpan<float> pixels, ImageShape shape)
    {
        for (int i = 0; i < pixels.Length / shape.Pixels; i++)
            using (var image = Images.Grid(pixels.Slice(i * shape.Pixels, shape.Pixels), shape, border: 0))
                Images.SavePng(Path.Combine(folder, $"{start + i:000000}.png"), image);
    }
}

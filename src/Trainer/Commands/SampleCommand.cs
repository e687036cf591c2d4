using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `sample` was asked to draw.</summary>
public sealed record SampleOptions
{
    public string Checkpoint { get; init; } = Path.Combine(TrainOptions.RunFolder(Recipes.Default), RunFolder.CheckpointFile);
    public int Count { get; init; } = 64;
    public string Png { get; init; } = "samples.png";
    public string Idx { get; init; } = "samples-idx3-ubyte";
    public SampleMode Mode { get; init; } = SampleMode.Train;
    public ulong Seed { get; init; } = 1;
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
}

/// <summary>`sample`: a trained generator's digits as a PNG grid and as MNIST-format bytes.</summary>
public static class SampleCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("sample", "draws samples from a checkpoint as a PNG grid and an IDX ubyte file", Read, options => Run(options, output));

    static SampleOptions Read(CommandArgs args)
    {
        var defaults = new SampleOptions();
        return new SampleOptions
        {
            Checkpoint = args.Path("checkpoint", defaults.Checkpoint, "checkpoint to sample from"),
            Count = args.Int("count", defaults.Count, "samples to draw", min: 1, max: 1_000_000),
            Png = args.Path("png", defaults.Png, "PNG grid to write"),
            Idx = args.Path("idx", defaults.Idx, "IDX file to write (MNIST's format, N×28×28 bytes)"),
            Mode = args.Choice("bn", defaults.Mode, "BatchNorm statistics: train (batches of the training batch size, as the seed samples) or eval (running statistics)"),
            Seed = (ulong)args.Int("seed", (int)defaults.Seed, "seed of the samples' noise", min: 0),
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
        };
    }

    public static void Run(SampleOptions options, TextWriter output)
    {
        var contents = Checkpoint.Read(options.Checkpoint);
        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        using var gan = Sampling.Restore(kernels, contents, options.Checkpoint);

        var pixels = Sampling.Draw(kernels, gan, options.Count, options.Mode, options.Seed);
        IdxFile.WriteImages(options.Idx, new IdxImages(options.Count, MnistDataset.Side, MnistDataset.Side, Sampling.ToBytes(pixels)));
        using (var grid = Images.Grid(pixels, columns: (int)Math.Ceiling(Math.Sqrt(options.Count))))
            Images.SavePng(options.Png, grid);
        output.WriteLine($"wrote {options.Count} samples to {options.Png} and {options.Idx}");
    }
}

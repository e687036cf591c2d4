using System.Diagnostics;
using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Metrics;

/// <summary>What `profile` and `bench` share: a training set that needs no download, timing, tables and JSON.</summary>
public static class Measurement
{
    /// <summary>
    /// The synthetic training set `profile` and `bench` time by default: as many images as MNIST's training set, so
    /// that an epoch is the reference's 60000 / 128 = 468 steps (drop_last); --images gives another count.
    /// </summary>
    public const int DefaultSyntheticImages = 60_000;
    /// <summary>The most synthetic images `profile` and `bench` take: 784-pixel images of them fit one buffer (<see cref="GanConfig.MaxBufferLength"/>).</summary>
    public const int MaxSyntheticImages = 2_000_000;
    /// <summary>The reference's run: 300 epochs.</summary>
    public const int ReferenceEpochs = 300;

    /// <summary>
    /// <paramref name="count"/> images of uniform random pixels in [−1, 1], the range of scaled MNIST: a step
    /// costs the same on any values, and this runs where no MNIST is at hand.
    /// </summary>
    public static DeviceDataset SyntheticImages(KernelSet kernels, int count, int pixels, int seed)
    {
        var random = new Random(seed);
        var images = new float[(long)count * pixels];
        for (long i = 0; i < images.LongLength; i++) images[i] = 2 * random.NextSingle() - 1;
        return new DeviceDataset(kernels, images, pixels);
    }

    /// <summary>A GAN with PyTorch's initial parameters, so that no step runs on unusual (say, denormal) values.</summary>
    public static Gan InitializedGan(KernelSet kernels, GanConfig config)
    {
        var gan = new Gan(kernels, config);
        Initialization.LikePyTorch(gan);
        return gan;
    }

    /// <summary>Wall seconds of <paramref name="work"/>, the accelerator idle before and drained after.</summary>
    public static double TimeSeconds(ComputeDevice device, Action work)
    {
        device.Synchronize();
        var clock = Stopwatch.StartNew();
        work();
        device.Synchronize();
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The median of <paramref name="values"/>.</summary>
    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("the median of no values");
        var sorted = values.Order().ToArray();
        int middle = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    /// <summary>Writes rows under a header, each column as wide as its widest cell; text left, numbers right.</summary>
    public static void WriteTable(TextWriter output, IReadOnlyList<string> header, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        var widths = header.Select((h, c) => rows.Select(r => r[c].Length).Append(h.Length).Max()).ToArray();
        string Line(IReadOnlyList<string> cells) => string.Join("  ",
            cells.Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd();
        output.WriteLine(Line(header));
        output.WriteLine(new string('-', widths.Sum() + 2 * (widths.Length - 1)));
        foreach (var row in rows) output.WriteLine(Line(row));
    }

    /// <summary>A figure for a table: fixed decimals, invariant culture, "-" where there is none.</summary>
    public static string Cell(double? value, int decimals) =>
        value is { } v && double.IsFinite(v) ? v.ToString("F" + decimals, CultureInfo.InvariantCulture) : "-";
}

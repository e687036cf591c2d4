using System.Globalization;

namespace IlgpuGan.Trainer;

/// <summary>metrics.csv: one row per epoch (and one for a run's last, partial epoch); a resumed run appends.</summary>
public sealed class MetricsLog(string path)
{
    public const string Header = "epoch,step,d_loss,g_loss,d_x,d_g_z,seconds,samples_per_s";

    public void Append(long epoch, long step, float[] means, double seconds, double samplesPerSecond)
    {
        bool fresh = !File.Exists(path);
        using var writer = new StreamWriter(path, append: true);
        if (fresh) writer.WriteLine(Header);
        writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{epoch},{step},{means[0]:R},{means[1]:R},{means[2]:R},{means[3]:R},{seconds:F3},{samplesPerSecond:F1}"));
    }

    public IReadOnlyList<LossPoint> ReadLosses() =>
        File.ReadLines(path).Skip(1).Select(line => line.Split(','))
            .Select(f => new LossPoint(long.Parse(f[1], CultureInfo.InvariantCulture),
                float.Parse(f[2], CultureInfo.InvariantCulture), float.Parse(f[3], CultureInfo.InvariantCulture)))
            .ToList();

    public void PlotLosses(string pngPath)
    {
        using var plot = Images.LossPlot(ReadLosses());
        AtomicFile.Write(pngPath, stream => SixLabors.ImageSharp.ImageExtensions.SaveAsPng(plot, stream));
    }
}

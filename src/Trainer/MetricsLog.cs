using System.Globalization;
using System.Text;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>
/// metrics.csv: one row per epoch (and one for a run's last, partial epoch); a resumed run appends. The quality
/// columns (eval's figures) are empty in the epochs `--eval-every` does not measure.
/// </summary>
public sealed class MetricsLog(string path)
{
    public string Path => path;

    public const string Header = "epoch,step,d_loss,g_loss,d_x,d_g_z,seconds,samples_per_s," +
        "parzen,parzen_se,parzen_sigma,frechet,classifier_score,min_class_share," +
        "share_0,share_1,share_2,share_3,share_4,share_5,share_6,share_7,share_8,share_9";

    /// <summary>Adds a row by rewriting the file whole (a few kB), so that no reader or crash sees half a row.</summary>
    public void Append(long epoch, long step, TrainingStatistics means, double seconds, double samplesPerSecond,
        QualityReport? quality = null)
    {
        var text = new StringBuilder(File.Exists(path) ? File.ReadAllText(path) : Header + Environment.NewLine);
        text.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{epoch},{step},{means.DiscriminatorLoss:R},{means.GeneratorLoss:R},{means.RealScore:R},{means.FakeScore:R},{seconds:F3},{samplesPerSecond:F1},{QualityColumns(quality)}"));
        AtomicFile.WriteAllText(path, text.ToString());
    }

    static string QualityColumns(QualityReport? quality)
    {
        if (quality is null) return new string(',', 5 + MnistDataset.Classes);
        double[] figures = [quality.Parzen.Mean, quality.Parzen.StandardError, quality.Parzen.Sigma, quality.Frechet,
            quality.ClassifierScore, quality.MinClassShare, .. quality.ClassShares];
        return string.Join(',', figures.Select(f => f.ToString("R", CultureInfo.InvariantCulture)));
    }
}

using System.Globalization;
using System.Text;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Training;

/// <summary>
/// metrics.csv: one row per epoch (and one for a run's last, partial epoch); a resumed run appends. The quality
/// columns (eval's figures) are empty in the epochs `--eval-every` does not measure. Lines that are not whole rows
/// (a blank line, a torn last one, edits by hand) are skipped when read and dropped when the file is rewritten.
/// </summary>
public sealed class MetricsLog(string path)
{
    /// <summary>The CSV file.</summary>
    public string Path => path;

    /// <summary>The CSV's header line.</summary>
    public const string Header = "epoch,step,d_loss,g_loss,d_x,d_g_z,seconds,samples_per_s," +
        "parzen,parzen_se,parzen_sigma,frechet,classifier_score,min_class_share," +
        "share_0,share_1,share_2,share_3,share_4,share_5,share_6,share_7,share_8,share_9";

    /// <summary>Adds a row by rewriting the file whole (a few kB), so that no reader or crash sees half a row.</summary>
    public void Append(long epoch, long step, TrainingStatistics means, double seconds, double samplesPerSecond,
        QualityReport? quality = null)
    {
        var row = string.Create(CultureInfo.InvariantCulture,
            $"{epoch},{step},{means.DiscriminatorLoss:R},{means.GeneratorLoss:R},{means.RealScore:R},{means.FakeScore:R},{seconds:F3},{samplesPerSecond:F1},{QualityColumns(quality)}");
        Write(Rows().Select(r => r.Line).Append(row));
    }

    /// <summary>Drops the rows of steps after <paramref name="step"/>; returns whether the file exists.</summary>
    public bool CutBackTo(long step)
    {
        if (!File.Exists(path)) return false;
        Write(Rows().Where(r => r.Step <= step).Select(r => r.Line));
        return true;
    }

    void Write(IEnumerable<string> rows)
    {
        var text = new StringBuilder(Header).AppendLine();
        foreach (var row in rows) text.AppendLine(row);
        AtomicFile.WriteAllText(path, text.ToString());
    }

    static readonly int Columns = Header.Split(',').Length;

    /// <summary>The whole rows after the header, as <see cref="MetricsTable"/> reads them, with their steps.</summary>
    IEnumerable<(string Line, long Step)> Rows()
    {
        foreach (var line in MetricsTable.Lines(path).Skip(1))
        {
            var f = line.Split(',');
            if (f.Length == Columns && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var step))
                yield return (line, step);
        }
    }

    static string QualityColumns(QualityReport? quality)
    {
        if (quality is null) return new string(',', 5 + MnistDataset.Classes);
        double[] figures = [quality.Parzen.Mean, quality.Parzen.StandardError, quality.Parzen.Sigma, quality.Frechet,
            quality.ClassifierScore, quality.MinClassShare, .. quality.ClassShares];
        return string.Join(',', figures.Select(f => f.ToString("R", CultureInfo.InvariantCulture)));
    }
}

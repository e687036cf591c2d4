using System.Globalization;
using System.Text;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Training;

/// <summary>
/// metrics.csv: one row per epoch (and one for a run's last, partial epoch); a resumed run appends. The quality
/// columns (eval's figures) are empty in the epochs `--eval-every` does not measure, and so is a measure the data
/// cannot have (without labels, all but Parzen's); one share column per class of the data. Lines that are not
/// whole rows (a blank line, a torn last one, edits by hand) are skipped when read and dropped when the file is
/// rewritten; a file whose columns are another data set's is refused rather than emptied. Epochs are counted from
/// 1; a file an earlier version started counts them from 0 and goes on doing so, as its run folder's file names do
/// (<see cref="Number"/>).
/// </summary>
public sealed class MetricsLog
{
    readonly string path;
    readonly int classes;

    /// <summary>The metrics.csv at <paramref name="path"/> of a run on data of <paramref name="classes"/> classes.</summary>
    public MetricsLog(string path, int classes)
    {
        (this.path, this.classes) = (path, classes);
        FirstEpoch = MetricsTable.Lines(path) is [var header, ..] ? MetricsTable.FirstEpochOf(header) : 1;
        Header = HeaderFor(classes, FirstEpoch);
    }

    /// <summary>The CSV file.</summary>
    public string Path => path;

    /// <summary>The number the run folder's files give its first epoch: 1, or 0 in a folder an earlier version started.</summary>
    public int FirstEpoch { get; }

    /// <summary>
    /// The number of the epoch of 0-based index <paramref name="epoch"/> in this run folder's files (metrics.csv's
    /// rows, samples/epoch_NNN.png, checkpoints/epoch_NNN.ckpt).
    /// </summary>
    public long Number(long epoch) => epoch + FirstEpoch;

    /// <summary>The CSV's header line.</summary>
    public string Header { get; }

    /// <summary>The columns of a run on data of <paramref name="classes"/> classes (0: unlabelled) whose epochs count from <paramref name="firstEpoch"/>.</summary>
    public static string HeaderFor(int classes, int firstEpoch = 1) =>
        (firstEpoch == 0 ? MetricsTable.ZeroBasedEpochColumn : MetricsTable.EpochColumn) +
        ",step,d_loss,g_loss,d_x,d_g_z,seconds,samples_per_s," +
        "parzen,parzen_se,parzen_sigma,frechet,classifier_score,min_class_share" +
        string.Concat(Enumerable.Range(0, classes).Select(c => $",share_{c}"));

    /// <summary>
    /// Adds the row of the epoch of 0-based index <paramref name="epoch"/> by rewriting the file whole (a few kB), so
    /// that no reader or crash sees half a row.
    /// </summary>
    public void Append(long epoch, long step, TrainingStatistics means, double seconds, double samplesPerSecond,
        QualityReport? quality = null)
    {
        var row = string.Create(CultureInfo.InvariantCulture,
            $"{Number(epoch)},{step},{means.DiscriminatorLoss:R},{means.GeneratorLoss:R},{means.RealScore:R},{means.FakeScore:R},{seconds:F3},{samplesPerSecond:F1},{QualityColumns(quality)}");
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

    /// <summary>The whole rows after the header, as <see cref="MetricsTable"/> reads them, with their steps.</summary>
    List<(string Line, long Step)> Rows()
    {
        var lines = MetricsTable.Lines(path);
        if (lines.Length > 0 && lines[0].Split(',').Count(c => c.StartsWith("share_", StringComparison.Ordinal)) is var shares && shares != classes)
            throw new DataFormatException(path, $"{shares} class share columns, this run's data has {classes} classes: it holds another data set's run");
        int columns = Header.Split(',').Length;
        var rows = new List<(string, long)>();
        foreach (var line in lines.Skip(1))
        {
            var f = line.Split(',');
            if (f.Length == columns && long.TryParse(f[1], NumberStyles.None, CultureInfo.InvariantCulture, out var step))
                rows.Add((line, step));
        }
        return rows;
    }

    /// <summary>eval's figures; an empty cell for each measure not taken, never a 0.</summary>
    string QualityColumns(QualityReport? quality)
    {
        if (quality is null) return new string(',', 5 + classes);
        var shares = quality.ClassShares.Length == classes ? quality.ClassShares.Select(s => (double?)s)
            : quality.ClassShares.Length == 0 ? new double?[classes]
            : throw new ArgumentException($"{quality.ClassShares.Length} class shares for metrics.csv's {classes}");
        double?[] figures = [quality.Parzen.Mean, quality.Parzen.StandardError, quality.Parzen.Sigma, quality.Frechet,
            quality.ClassifierScore, quality.MinClassShare, .. shares];
        return string.Join(',', figures.Select(f => f?.ToString("R", CultureInfo.InvariantCulture) ?? ""));
    }
}

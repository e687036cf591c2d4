using System.Globalization;

namespace IlgpuGan.Model.Training;

/// <summary>
/// metrics.csv read by its header: a column by name, an empty cell as NaN. Rows whose cell count differs from the
/// header's (a blank line, a torn last line) are passed over, so a damaged file still gives the rows it has.
/// A file past <see cref="MaxBytes"/> is refused unread. The epochs are read counted from 1 in
/// <see cref="EpochColumn"/>, whichever way the file counts them (<see cref="FirstEpoch"/>).
/// </summary>
public sealed class MetricsTable(IReadOnlyList<string> header, IReadOnlyList<double[]> rows)
{
    /// <summary>The column names.</summary>
    public IReadOnlyList<string> Header { get; } = header;
    /// <summary>The rows, one value per column.</summary>
    public IReadOnlyList<double[]> Rows { get; } = rows;

    /// <summary>The first column: the epoch of the row, counted from 1.</summary>
    public const string EpochColumn = "epoch_number";

    /// <summary>The first column of the files of earlier versions, which counted epochs from 0.</summary>
    public const string ZeroBasedEpochColumn = "epoch";

    /// <summary>
    /// The number the file gave its first epoch, as its run folder's file names do: 0 in a file an earlier version
    /// started (first column <see cref="ZeroBasedEpochColumn"/>), else 1.
    /// </summary>
    public int FirstEpoch { get; init; } = 1;

    /// <summary>How a metrics.csv whose first line is <paramref name="headerLine"/> numbers its first epoch.</summary>
    public static int FirstEpochOf(string headerLine) =>
        headerLine.Split(',')[0] == ZeroBasedEpochColumn ? 0 : 1;

    /// <summary>What metrics.csv may hold at most: over 100,000 epochs' rows with every quality column.</summary>
    public const long MaxBytes = 64 << 20;

    /// <summary>The file's lines, none when there is no file; a <see cref="DataFormatException"/> past <see cref="MaxBytes"/>.</summary>
    public static string[] Lines(string path) =>
        RunFileText.Read(path, MaxBytes, "a CSV file") is { Length: > 0 } text ? text.Split('\n').Select(l => l.TrimEnd('\r')).ToArray() : [];

    /// <summary>Reads a metrics CSV, refusing what does not parse with the file's name.</summary>
    public static MetricsTable Read(string path)
    {
        var lines = Lines(path);
        if (lines.Length == 0) return new MetricsTable([], []);
        var header = lines[0].Split(',');
        int firstEpoch = FirstEpochOf(lines[0]);
        var rows = lines.Skip(1).Select(line => line.Split(','))
            .Where(cells => cells.Length == header.Length)
            .Select(cells => cells.Select(Parse).ToArray())
            .ToList();
        if (firstEpoch == 0)
        {
            header[0] = EpochColumn;
            foreach (var row in rows) row[0] += 1;
        }
        return new MetricsTable(header, rows) { FirstEpoch = firstEpoch };
    }

    static double Parse(string cell) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) ? value : double.NaN;

    /// <summary>The column's values, one per row; NaN throughout for a column the file does not have.</summary>
    public double[] Column(string name)
    {
        int index = Header.ToList().IndexOf(name);
        return Rows.Select(row => index >= 0 ? row[index] : double.NaN).ToArray();
    }
}

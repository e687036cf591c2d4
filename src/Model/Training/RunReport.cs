using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using IlgpuGan.Model;
using IlgpuGan.Model.Imaging;

namespace IlgpuGan.Model.Training;

/// <summary>
/// report.html: one page that shows a run folder, made from the files the run already writes (config.json,
/// metrics.csv, samples/, progress.gif, and eval_ceiling.json when --eval-every measured real images). It opens
/// from disk with no server and no network: styles and plots are inline, and the images it shows are the run
/// folder's own files, linked by relative path.
/// </summary>
public static class RunReport
{
    /// <summary>The report's file name in a run folder.</summary>
    public const string FileName = "report.html";
    /// <summary>The file of the real data's measures, the report's ceiling.</summary>
    public const string CeilingFile = "eval_ceiling.json";

    /// <summary>The quality measures metrics.csv may hold (eval's columns), each with its title and axis label.</summary>
    static readonly (string Column, string Title, string Axis)[] QualityPlots =
    [
        ("parzen", "Parzen-window log-likelihood of the test digits", "log-likelihood (nats)"),
        ("frechet", "Fréchet distance to the test digits", "Fréchet distance"),
        ("classifier_score", "Classifier score", "score (at most 10)"),
        ("min_class_share", "Smallest class share", "share of samples"),
    ];

    const string RealColour = "#1f77b4", FakeColour = "#d62728", CeilingColour = "#2ca02c";

    /// <summary>Rewrites the folder's report.html atomically, so a browser never shows half a page.</summary>
    public static string Write(string runFolder)
    {
        var path = Path.Combine(runFolder, FileName);
        AtomicFile.WriteAllText(path, Build(runFolder));
        return path;
    }

    /// <summary>The HTML report of the run in <paramref name="runFolder"/>.</summary>
    public static string Build(string runFolder)
    {
        if (!Directory.Exists(runFolder)) throw new DirectoryNotFoundException($"{runFolder}: no such run folder");
        var metrics = MetricsTable.Read(Path.Combine(runFolder, "metrics.csv"));
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.Append($"<title>IlgpuGan run {Escape(Path.GetFileName(Path.GetFullPath(runFolder)))}</title>");
        html.Append("<style>body{font-family:sans-serif;margin:24px;max-width:1400px;color:#222}" +
                    "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:13px}" +
                    ".plots{display:flex;flex-wrap:wrap;gap:12px}.grids{display:flex;flex-wrap:wrap;gap:12px}" +
                    "figure{margin:0}figcaption{font-size:12px;text-align:center}img{image-rendering:pixelated}</style></head><body>");
        html.Append($"<h1>IlgpuGan run <code>{Escape(Path.GetFullPath(runFolder))}</code></h1>");
        html.Append(Invariant($"<p>Made {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC from the run folder's files.</p>"));

        AppendSpeed(html, metrics, ReadDevice(Path.Combine(runFolder, "config.json")));
        AppendPlots(html, metrics, ReadCeiling(Path.Combine(runFolder, CeilingFile)));
        AppendLastEpoch(html, metrics);
        AppendGrids(html, runFolder, metrics.FirstEpoch);
        AppendConfig(html, Path.Combine(runFolder, "config.json"));
        html.Append("</body></html>");
        return html.ToString();
    }

    static void AppendSpeed(StringBuilder html, MetricsTable metrics, string? device)
    {
        html.Append("<h2>Progress and speed</h2>");
        if (device is not null) html.Append($"<p>On {Escape(device)}.</p>");
        if (metrics.Rows.Count == 0)
        {
            html.Append("<p>No epoch has ended yet: metrics.csv has no rows.</p>");
            return;
        }
        var rowSeconds = metrics.Column("seconds");
        var seconds = rowSeconds.Where(double.IsFinite).ToArray();
        var steps = metrics.Column("step");
        // Steps per second from each row's step count and time; a resumed run's first row counts from its checkpoint.
        var stepsPerSecond = new List<double>();
        for (int i = 0; i < metrics.Rows.Count; i++)
        {
            double previous = i > 0 && steps[i] > steps[i - 1] ? steps[i - 1] : 0, time = rowSeconds[i];
            if (time > 0 && double.IsFinite(steps[i])) stepsPerSecond.Add((steps[i] - previous) / time);
        }
        html.Append("<table>");
        Row(html, "epochs ended", metrics.Rows.Count.ToString(CultureInfo.InvariantCulture));
        Row(html, "steps", steps[^1].ToString("F0", CultureInfo.InvariantCulture));
        Row(html, "training time", Invariant($"{seconds.Sum():F0} s"));
        if (seconds.Length > 0) Row(html, "seconds per epoch (median)", Invariant($"{Median(seconds):F1}"));
        if (stepsPerSecond.Count > 0) Row(html, "steps per second (median)", Invariant($"{Median(stepsPerSecond):F2}"));
        var samplesPerSecond = metrics.Column("samples_per_s").Where(double.IsFinite).ToArray();
        if (samplesPerSecond.Length > 0) Row(html, "samples per second (median)", Invariant($"{Median(samplesPerSecond):F0}"));
        html.Append("</table>");
    }

    static void AppendPlots(StringBuilder html, MetricsTable metrics, IReadOnlyDictionary<string, double> ceiling)
    {
        html.Append("<h2>Curves</h2><div class=\"plots\">");
        var epochs = metrics.Column(MetricsTable.EpochColumn);
        PlotSeries Series(string column, string name, string colour) =>
            new(name, epochs.Zip(metrics.Column(column), (x, y) => (x, y)).ToArray(), colour);
        var plots = new List<SvgPlot>
        {
            new("Losses", "epoch", "BCE loss", [Series("d_loss", "D loss", RealColour), Series("g_loss", "G loss", FakeColour)]),
            new("Discriminator outputs", "epoch", "mean D output", [Series("d_x", "D(x)", RealColour), Series("d_g_z", "D(G(z))", FakeColour)]),
        };
        foreach (var (column, title, axis) in QualityPlots)
        {
            var levels = ceiling.TryGetValue(column, out var real) ? new[] { new PlotLevel("real images", real, CeilingColour) } : [];
            plots.Add(new SvgPlot(title, "epoch", axis, [Series(column, "samples", FakeColour)], levels));
        }
        foreach (var plot in plots.Where(p => p.HasData)) html.Append(plot.ToSvg());
        html.Append("</div>");
    }

    static void AppendLastEpoch(StringBuilder html, MetricsTable metrics)
    {
        if (metrics.Rows.Count == 0) return;
        html.Append("<h2>Last epoch</h2><table>");
        var last = metrics.Rows[^1];
        for (int c = 0; c < metrics.Header.Count; c++)
            if (double.IsFinite(last[c])) Row(html, metrics.Header[c], last[c].ToString("G6", CultureInfo.InvariantCulture));
        html.Append("</table>");
    }

    /// <summary>The grids, captioned with their epochs counted from 1 whatever number the folder's files give the first.</summary>
    static void AppendGrids(StringBuilder html, string runFolder, int firstEpoch)
    {
        html.Append("<h2>Samples</h2>");
        if (File.Exists(Path.Combine(runFolder, "progress.gif")))
            html.Append("<figure><img src=\"progress.gif\" alt=\"the sample grids as an animation\" width=\"336\"><figcaption>progress.gif</figcaption></figure>");
        var grids = SampleGrid.InEpochOrder(Path.Combine(runFolder, "samples"));
        if (grids.Count == 0)
        {
            html.Append("<p>No sample grid yet.</p>");
            return;
        }
        html.Append("<p>The same fixed z at every sampled epoch.</p><div class=\"grids\">");
        foreach (var grid in grids)
        {
            var name = Path.GetFileName(grid);
            var epoch = int.TryParse(name["epoch_".Length..^".png".Length], CultureInfo.InvariantCulture, out var e) ? e + 1 - firstEpoch : 0;
            html.Append(Invariant($"<figure><img src=\"samples/{Escape(name)}\" alt=\"samples after epoch {epoch}\" width=\"224\"><figcaption>after epoch {epoch}</figcaption></figure>"));
        }
        html.Append("</div>");
    }

    /// <summary>config.json flattened to dotted names, so the page shows whatever the run recorded.</summary>
    static void AppendConfig(StringBuilder html, string configPath)
    {
        html.Append("<h2>Configuration</h2>");
        using var document = JsonFile.ReadObject(configPath);
        if (document is null)
        {
            html.Append("<p>No config.json.</p>");
            return;
        }
        html.Append("<table>");
        foreach (var (name, value) in Flatten("", document.RootElement)) Row(html, name, value);
        html.Append("</table>");
    }

    static IEnumerable<(string Name, string Value)> Flatten(string prefix, JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in element.EnumerateObject())
                foreach (var entry in Flatten(prefix.Length == 0 ? property.Name : $"{prefix}.{property.Name}", property.Value))
                    yield return entry;
        }
        else if (element.ValueKind == JsonValueKind.Array && element.EnumerateArray().All(e => e.ValueKind != JsonValueKind.Object))
            yield return (prefix, string.Join(", ", element.EnumerateArray().Select(e => e.ToString())));
        else
            yield return (prefix, element.ValueKind == JsonValueKind.Null ? "" : element.ToString());
    }

    /// <summary>The accelerator the run trains on, as config.json records it; null for a folder without one.</summary>
    static string? ReadDevice(string configPath)
    {
        using var document = JsonFile.ReadObject(configPath);
        return document is not null && document.RootElement.TryGetProperty("device", out var device)
            ? device.ValueKind == JsonValueKind.String ? device.GetString()
                : throw new DataFormatException(configPath, $"\"device\" is a JSON {device.ValueKind.ToString().ToLowerInvariant()}, not a string")
            : null;
    }

    static IReadOnlyDictionary<string, double> ReadCeiling(string path)
    {
        using var document = JsonFile.ReadObject(path);
        if (document is null) return new Dictionary<string, double>();
        return document.RootElement.EnumerateObject()
            .Where(p => p.Value.ValueKind == JsonValueKind.Number)
            .DistinctBy(p => p.Name)
            .ToDictionary(p => p.Name, p => p.Value.TryGetDouble(out var value) ? value : double.NaN);
    }

    static void Row(StringBuilder html, string name, string value) =>
        html.Append($"<tr><th>{Escape(name)}</th><td>{Escape(value)}</td></tr>");

    static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    static string Escape(string text) => WebUtility.HtmlEncode(text);

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

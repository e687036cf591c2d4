using System.Globalization;
using System.Net;
using System.Text;

namespace IlgpuGan.Model.Training;

/// <summary>One line of a plot: its name in the legend, its points (NaN values are gaps) and its colour.</summary>
internal sealed record PlotSeries(string Name, IReadOnlyList<(double X, double Y)> Points, string Colour);

/// <summary>A horizontal line at a known value, such as the real-data ceiling of a quality measure.</summary>
internal sealed record PlotLevel(string Name, double Y, string Colour);

/// <summary>
/// A line plot as inline SVG, with axes, tick values at round numbers, axis labels and a legend. SVG carries
/// its text as text, so the plot needs no font on disk and reads at any zoom. Axis ranges are widened to the
/// ticks around the data, so the first and last tick frame every point.
/// </summary>
internal sealed class SvgPlot
{
    public const int Width = 560, Height = 316;
    /// <summary>The margins hold the tick values and labels; the top one the title and, under it, the legend.</summary>
    const int Left = 70, Right = 16, Top = 46, Bottom = 46;
    const int TargetTicks = 6;

    readonly string title, xLabel, yLabel;
    readonly IReadOnlyList<PlotSeries> series;
    readonly IReadOnlyList<PlotLevel> levels;

    public Axis X { get; }
    public Axis Y { get; }

    public SvgPlot(string title, string xLabel, string yLabel, IReadOnlyList<PlotSeries> series,
                   IReadOnlyList<PlotLevel>? levels = null)
    {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.series = series;
        this.levels = levels ?? [];
        var points = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.X) && double.IsFinite(p.Y)).ToList();
        X = Axis.Around(points.Select(p => p.X), wholeSteps: points.All(p => p.X == Math.Round(p.X)));
        Y = Axis.Around(points.Select(p => p.Y).Concat(this.levels.Select(l => l.Y).Where(double.IsFinite)), wholeSteps: false);
    }

    /// <summary>Whether any series has a point to draw.</summary>
    public bool HasData => series.Any(s => s.Points.Any(p => double.IsFinite(p.X) && double.IsFinite(p.Y)));

    public double PixelX(double x) => Left + (x - X.Min) / (X.Max - X.Min) * (Width - Left - Right);

    public double PixelY(double y) => Height - Bottom - (y - Y.Min) / (Y.Max - Y.Min) * (Height - Top - Bottom);

    public string ToSvg()
    {
        var svg = new StringBuilder();
        svg.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" font-family=\"sans-serif\" font-size=\"12\">"));
        svg.Append(Invariant($"<text x=\"{Width / 2}\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>"));
        double plotLeft = Left, plotRight = Width - Right, plotTop = Top, plotBottom = Height - Bottom;
        foreach (var tick in X.Ticks())
        {
            double px = PixelX(tick);
            svg.Append(Invariant($"<line x1=\"{px:F1}\" y1=\"{plotTop}\" x2=\"{px:F1}\" y2=\"{plotBottom}\" stroke=\"#e4e4e4\"/>"));
            svg.Append(Invariant($"<text class=\"tick-x\" x=\"{px:F1}\" y=\"{plotBottom + 16}\" text-anchor=\"middle\">{X.Format(tick)}</text>"));
        }
        foreach (var tick in Y.Ticks())
        {
            double py = PixelY(tick);
            svg.Append(Invariant($"<line x1=\"{plotLeft}\" y1=\"{py:F1}\" x2=\"{plotRight}\" y2=\"{py:F1}\" stroke=\"#e4e4e4\"/>"));
            svg.Append(Invariant($"<text class=\"tick-y\" x=\"{plotLeft - 6}\" y=\"{py + 4:F1}\" text-anchor=\"end\">{Y.Format(tick)}</text>"));
        }
        svg.Append(Invariant($"<rect x=\"{plotLeft}\" y=\"{plotTop}\" width=\"{plotRight - plotLeft}\" height=\"{plotBottom - plotTop}\" fill=\"none\" stroke=\"#444\"/>"));
        svg.Append(Invariant($"<text class=\"label-x\" x=\"{(plotLeft + plotRight) / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\">{Escape(xLabel)}</text>"));
        svg.Append(Invariant($"<text class=\"label-y\" transform=\"translate(16 {(plotTop + plotBottom) / 2}) rotate(-90)\" text-anchor=\"middle\">{Escape(yLabel)}</text>"));

        foreach (var level in levels.Where(l => double.IsFinite(l.Y)))
        {
            double py = PixelY(level.Y);
            svg.Append(Invariant($"<line class=\"level\" x1=\"{plotLeft}\" y1=\"{py:F1}\" x2=\"{plotRight}\" y2=\"{py:F1}\" stroke=\"{level.Colour}\" stroke-dasharray=\"6 4\"/>"));
        }
        foreach (var line in series) AppendSeries(svg, line);
        AppendLegend(svg);
        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>A polyline per run of finite points, and a dot on every point when there are few (eval's epochs).</summary>
    void AppendSeries(StringBuilder svg, PlotSeries line)
    {
        var run = new List<string>();
        void Flush()
        {
            if (run.Count > 1)
                svg.Append($"<polyline class=\"series\" fill=\"none\" stroke=\"{line.Colour}\" stroke-width=\"1.8\" points=\"{string.Join(' ', run)}\"/>");
            run.Clear();
        }
        var finite = line.Points.Count(p => double.IsFinite(p.X) && double.IsFinite(p.Y));
        foreach (var (x, y) in line.Points)
        {
            if (!double.IsFinite(x) || !double.IsFinite(y)) { Flush(); continue; }
            run.Add(Invariant($"{PixelX(x):F1},{PixelY(y):F1}"));
            if (finite <= 60)
                svg.Append(Invariant($"<circle cx=\"{PixelX(x):F1}\" cy=\"{PixelY(y):F1}\" r=\"2.5\" fill=\"{line.Colour}\"/>"));
        }
        Flush();
    }

    void AppendLegend(StringBuilder svg)
    {
        var entries = series.Select(s => (s.Name, s.Colour, Dashed: false))
            .Concat(levels.Select(l => (l.Name, l.Colour, Dashed: true))).ToList();
        // One row above the plot area, so the legend never hides a line.
        double x = Left, y = Top - 8;
        foreach (var (name, colour, dashed) in entries)
        {
            svg.Append(Invariant($"<line x1=\"{x:F1}\" y1=\"{y - 4:F1}\" x2=\"{x + 20:F1}\" y2=\"{y - 4:F1}\" stroke=\"{colour}\" stroke-width=\"2\"{(dashed ? " stroke-dasharray=\"6 4\"" : "")}/>"));
            svg.Append(Invariant($"<text class=\"legend\" x=\"{x + 26:F1}\" y=\"{y:F1}\">{Escape(name)}</text>"));
            x += 26 + name.Length * 7 + 18;
        }
    }

    static string Escape(string text) => WebUtility.HtmlEncode(text);

    static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// An axis from Min to Max in steps of Step, a round number (1, 2 or 5 times a power of ten) that gives about
    /// six ticks, and at least 1 for whole-number values such as epochs; a single value or none gets a range
    /// around it.
    /// </summary>
    public readonly record struct Axis(double Min, double Max, double Step)
    {
        public static Axis Around(IEnumerable<double> values, bool wholeSteps)
        {
            var list = values.Where(double.IsFinite).ToList();
            double low = list.Count > 0 ? list.Min() : 0, high = list.Count > 0 ? list.Max() : 1;
            if (high - low < 1e-12 * Math.Max(1, Math.Abs(high)))
            {
                double pad = Math.Abs(high) > 0 ? Math.Abs(high) * 0.1 : 0.5;
                low -= pad;
                high += pad;
            }
            double step = RoundStep((high - low) / TargetTicks);
            if (wholeSteps) step = Math.Max(step, 1);
            return new Axis(Math.Floor(low / step) * step, Math.Ceiling(high / step) * step, step);
        }

        static double RoundStep(double rough)
        {
            double power = Math.Pow(10, Math.Floor(Math.Log10(rough)));
            double fraction = rough / power;
            return (fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10) * power;
        }

        public IEnumerable<double> Ticks()
        {
            int count = (int)Math.Round((Max - Min) / Step);
            for (int i = 0; i <= count; i++) yield return Min + i * Step;
        }

        /// <summary>A tick value with as many decimals as the step needs, and no rounding noise.</summary>
        public string Format(double value)
        {
            int decimals = Math.Clamp(-(int)Math.Floor(Math.Log10(Step) + 1e-9), 0, 10);
            return Math.Round(value, decimals).ToString("F" + decimals, CultureInfo.InvariantCulture);
        }
    }
}

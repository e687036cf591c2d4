using System.Diagnostics;
using System.Text.RegularExpressions;
using IlgpuGan.Trainer;


namespace IlgpuGan.Tests;

public sealed class SvgPlotTests
{
    /// <summary>A known series lands on known pixels: the axis runs from the first tick to the last around the data.</summary>
    [Test]
    public void MapsASeriesOntoThePlotArea()
    {
        var plot = new SvgPlot("t", "epoch", "loss", [new PlotSeries("d", [(0, 0), (5, 50), (10, 100)], "#000")]);

        Assert.That((plot.X.Min, plot.X.Max, plot.X.Step), Is.EqualTo((0.0, 10.0, 2.0)));
        Assert.That((plot.Y.Min, plot.Y.Max, plot.Y.Step), Is.EqualTo((0.0, 100.0, 20.0)));
        var svg = plot.ToSvg();
        // The plot area is x 70..544 and y 46..270 (SvgPlot's margins in a 560×316 picture).
        Assert.That(svg, Does.Contain("points=\"70.0,270.0 307.0,158.0 544.0,46.0\""));
        Assert.That(Regex.Matches(svg, "class=\"tick-x\"[^>]*>([^<]*)<").Select(m => m.Groups[1].Value),
            Is.EqualTo(new[] { "0", "2", "4", "6", "8", "10" }));
        Assert.That(Regex.Matches(svg, "class=\"tick-y\"[^>]*>([^<]*)<").Select(m => m.Groups[1].Value),
            Is.EqualTo(new[] { "0", "20", "40", "60", "80", "100" }));
        Assert.That(svg, Does.Contain(">epoch</text>").And.Contain(">loss</text>").And.Contain("class=\"legend\""));
    }

    [Test]
    public void WidensTheAxisToRoundTicksAndIncludesLevels()
    {
        var plot = new SvgPlot("t", "x", "y", [new PlotSeries("s", [(1, 0.13), (3, 0.41)], "#000")],
            [new PlotLevel("ceiling", 0.87, "#0a0")]);

        // 0.13 .. 0.87 spans 0.74: a sixth of it rounds up to steps of 0.2, from 0 to 1.
        Assert.That((plot.Y.Min, plot.Y.Max, plot.Y.Step), Is.EqualTo((0.0, 1.0, 0.2)).Within(1e-12));
        Assert.That(plot.Y.Ticks().Select(plot.Y.Format), Is.EqualTo(new[] { "0.0", "0.2", "0.4", "0.6", "0.8", "1.0" }));
        Assert.That(plot.PixelY(0.87), Is.EqualTo(270 - 0.87 * 224).Within(1e-9));
    }

    /// <summary>NaN cells (epochs eval did not measure) break the line instead of dragging it to a bogus value.</summary>
    [Test]
    public void GapsAtMissingValues()
    {
        var svg = new SvgPlot("t", "x", "y", [new PlotSeries("s", [(1, 1), (2, 2), (3, double.NaN), (4, 4), (5, 5)], "#000")]).ToSvg();

        Assert.That(Regex.Matches(svg, "<polyline").Count, Is.EqualTo(2));
    }

    [Test]
    public void EpochsGetWholeTicks()
    {
        var plot = new SvgPlot("t", "epoch", "y", [new PlotSeries("s", [(1, 0), (2, 1), (3, 0)], "#000")]);

        Assert.That(plot.X.Ticks(), Is.EqualTo(new[] { 1.0, 2.0, 3.0 }));
    }

    [Test]
    public void ASingleValueGetsARangeAroundIt()
    {
        var plot = new SvgPlot("t", "x", "y", [new PlotSeries("s", [(1, 2)], "#000")]);

        Assert.That(plot.Y.Min, Is.LessThan(2));
        Assert.That(plot.Y.Max, Is.GreaterThan(2));
        Assert.That(double.IsFinite(plot.PixelX(1)) && double.IsFinite(plot.PixelY(2)));
    }
}

/// <summary>report.html made from a short real run, read back as a browser sees it.</summary>
[NonParallelizable]
public sealed class RunReportTests
{
    string folder = null!;
    string run = null!;

    [OneTimeSetUp]
    public void TrainAShortRun()
    {
        folder = Directory.CreateTempSubdirectory("ilgpugan-report-").FullName;
        run = ProgramTests.TrainTinyRun(folder, "run", "--epochs", "3", "--sample-every", "1", "--seed", "2");
    }

    [OneTimeTearDown]
    public void RemoveFolder() => Directory.Delete(folder, recursive: true);

    [Test]
    public void ShowsTheCurvesTheGridsAndTheConfig()
    {
        var html = File.ReadAllText(RunReport.Write(run));

        Assert.That(Regex.Matches(html, "<svg ").Count, Is.EqualTo(2), "losses and D's outputs; no quality plot without --eval-every");
        Assert.That(html, Does.Contain(">D(G(z))</text>").And.Contain(">BCE loss</text>"));
        var images = Regex.Matches(html, "<img src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.That(images, Is.EqualTo(new[] { "progress.gif", "samples/epoch_001.png", "samples/epoch_002.png", "samples/epoch_003.png" }));
        Assert.That(Regex.Matches(html, "<figcaption>after epoch (\\d+)</figcaption>").Select(m => m.Groups[1].Value), Is.EqualTo(new[] { "1", "2", "3" }));
        Assert.That(html, Does.Contain($"<th>{MetricsTable.EpochColumn}</th><td>3</td>"), "the last epoch's table counts from 1");
        Assert.That(images.Select(image => Path.Combine(run, image)), Has.All.Matches<string>(File.Exists));
        Assert.That(html, Does.Contain("<th>epochs ended</th><td>3</td>"));
        Assert.That(html, Does.Contain("<p>On Cpu "), "the device config.json records");
        Assert.That(html, Does.Contain("http").IgnoreCase.And.Not.Contain("src=\"http"), "nothing is fetched from a network");
    }

    /// <summary>Past epoch 999 the names grow a digit: the grids stay in epoch order, not in the names' order.</summary>
    [Test]
    public void GridsPastEpoch999StayInEpochOrder()
    {
        var samples = Path.Combine(folder, "long", "samples");
        Directory.CreateDirectory(samples);
        foreach (var epoch in new[] { 1, 999, 1000, 1001 }) File.WriteAllBytes(Path.Combine(samples, $"epoch_{epoch:000}.png"), []);

        var html = RunReport.Build(Path.Combine(folder, "long"));

        Assert.That(Regex.Matches(html, "<figcaption>after epoch (\\d+)</figcaption>").Select(m => m.Groups[1].Value),
            Is.EqualTo(new[] { "1", "999", "1000", "1001" }));
    }

    [Test]
    public void PlotsQualityWithTheCeilingWhenTheRunMeasuredIt()
    {
        var measured = Path.Combine(folder, "measured");
        Directory.CreateDirectory(measured);
        File.WriteAllText(Path.Combine(measured, "metrics.csv"),
            "epoch,step,d_loss,g_loss,d_x,d_g_z,seconds,samples_per_s,parzen,frechet\n" +
            "0,10,1.3,0.7,0.6,0.4,2.0,640,,\n" +
            "1,20,1.2,0.8,0.6,0.4,2.0,640,150.5,20.1\n" +
            "\n" +                      // a blank line and a torn row are passed over
            "2,30,1.1,0.9,0.6,0.4,2.0,640,170.2,9.5\n" +
            "3,40,1.1");
        File.WriteAllText(Path.Combine(measured, RunReport.CeilingFile), "{\"parzen\": 241.2, \"frechet\": 1.27}");

        var html = RunReport.Build(measured);

        Assert.That(Regex.Matches(html, "<svg ").Count, Is.EqualTo(4));
        Assert.That(Regex.Matches(html, "class=\"level\"").Count, Is.EqualTo(2), "the ceiling on Parzen and Fréchet");
        Assert.That(html, Does.Contain("<th>epochs ended</th><td>3</td>"));
        Assert.That(html, Does.Contain("<th>steps per second (median)</th><td>5.00</td>"));
    }

    /// <summary>Debian's Chromium opens the page from disk, headless: the plots and images are there once it has laid the page out.</summary>
    [Test]
    public void OpensInABrowser()
    {
        const string chromium = "/usr/bin/chromium";
        if (!File.Exists(chromium)) RequiredChecks.Unavailable("browser", $"no {chromium} (apt-get install chromium)");
        var page = RunReport.Write(run);
        var screenshot = Path.Combine(folder, "report.png");

        var dom = Chromium(chromium, "--dump-dom", new Uri(page).AbsoluteUri);
        Chromium(chromium, $"--screenshot={screenshot}", "--window-size=1300,1800", new Uri(page).AbsoluteUri);

        Assert.That(Regex.Matches(dom, "<svg ").Count, Is.EqualTo(2));
        Assert.That(Regex.Matches(dom, "class=\"tick-y\"").Count, Is.GreaterThan(3));
        Assert.That(Regex.Matches(dom, "<img ").Count, Is.EqualTo(4));
        Assert.That(new FileInfo(screenshot).Length, Is.GreaterThan(10_000));
        TestContext.Out.WriteLine($"screenshot: {screenshot}");
        var keep = Environment.GetEnvironmentVariable("ILGPUGAN_KEEP_SCREENSHOT");
        if (!string.IsNullOrEmpty(keep)) File.Copy(screenshot, keep, overwrite: true);
    }

    /// <summary>Chromium as the machine's probe runs it: no sandbox as root, and nothing that reaches for the network.</summary>
    static string Chromium(string chromium, params string[] args)
    {
        var profile = Directory.CreateTempSubdirectory("ilgpugan-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(chromium,
                ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 $"--user-data-dir={profile}", .. args])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync();
            var output = process.StandardOutput.ReadToEnd();
            Assert.That(process.WaitForExit(60_000), "chromium did not finish within a minute");
            Assert.That(process.ExitCode, Is.Zero, errors.Result);
            return output;
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}

using System.Diagnostics;
using System.Globalization;

namespace IlgpuGan.Trainer;

/// <summary>
/// What `train` prints while it runs: the expected time per epoch once, then a progress bar on a terminal (a
/// line every half minute elsewhere) and a line per epoch. It owns the clocks the rates come from; they start
/// after the run's first step, whose time is mostly the kernels' compilation.
/// </summary>
public sealed class ProgressReporter(TextWriter output, bool terminal, int stepsPerEpoch, long firstStep, long lastStep)
{
    static readonly TimeSpan TerminalInterval = TimeSpan.FromSeconds(1);
    static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(30);

    readonly Stopwatch runClock = Stopwatch.StartNew();
    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly Stopwatch epochClock = Stopwatch.StartNew();
    TimeSpan lastReport = TimeSpan.Zero;
    long measuredFrom = firstStep;
    bool announcedEpochTime;
    /// <summary>The length of the progress bar on screen, which the next line overwrites.</summary>
    int barLength;

    /// <summary>Whether a progress update is due: the statistics are read from the device only then.</summary>
    public bool Due => clock.Elapsed - lastReport >= (terminal ? TerminalInterval : PlainInterval);

    /// <summary>The first step is done: steps per second are measured from here.</summary>
    public void Compiled(long step)
    {
        measuredFrom = step;
        clock.Restart();
        lastReport = TimeSpan.Zero;
    }

    /// <summary>Seconds since the epoch began.</summary>
    public double EpochSeconds => epochClock.Elapsed.TotalSeconds;

    /// <summary>A progress update within an epoch, from the epoch's sums so far.</summary>
    public void Progress(long step, TrainingStatistics sums, long stepsInEpoch)
    {
        double stepsPerSecond = Measured(step);
        var text = string.Create(CultureInfo.InvariantCulture,
            $"epoch {(step - 1) / stepsPerEpoch + 1} step {step}/{lastStep} d_loss {sums.DiscriminatorLoss / stepsInEpoch:F4} g_loss {sums.GeneratorLoss / stepsInEpoch:F4} {stepsPerSecond:F1} steps/s ETA {Eta((lastStep - step) / stepsPerSecond)}");
        if (terminal)
        {
            int width = 30, filled = (int)(width * (step % stepsPerEpoch) / stepsPerEpoch);
            var bar = $"[{new string('#', filled)}{new string('.', width - filled)}] {text}";
            output.Write($"\r{bar.PadRight(barLength)}");
            barLength = bar.Length;
        }
        else output.WriteLine(text);
    }

    /// <summary>The line of an epoch that has ended (0-based <paramref name="epoch"/>, shown from 1): its means and how long its steps took.</summary>
    public void EpochEnd(long epoch, long step, TrainingStatistics means, double seconds)
    {
        Measured(step);
        if (terminal && barLength > 0)
        {
            output.Write($"\r{new string(' ', barLength)}\r");
            barLength = 0;
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch + 1} step {step}/{lastStep}: d_loss {means.DiscriminatorLoss:F4} g_loss {means.GeneratorLoss:F4} D(x) {means.RealScore:F3} D(G(z)) {means.FakeScore:F3}/{means.GeneratorFakeScore:F3} ({seconds:F1} s)"));
    }

    /// <summary>The next epoch's clock starts (after the epoch's samples, measures and checkpoint).</summary>
    public void StartEpoch() => epochClock.Restart();

    public void Done(long step, string runFolder) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {step} steps in {runClock.Elapsed.TotalSeconds:F1} s; run folder {runFolder}"));

    /// <summary>Hours in full, as many as there are, then minutes and seconds: 31:05:09.</summary>
    static string Eta(double seconds) =>
        double.IsFinite(seconds) && seconds >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)(seconds / 3600)}:{(long)(seconds / 60) % 60:00}:{(long)seconds % 60:00}")
            : "unknown";

    /// <summary>Steps per second since the start; the first time, announces the time per epoch it implies.</summary>
    double Measured(long step)
    {
        lastReport = clock.Elapsed;
        // Until a step after the first is done, the rate includes the compilation.
        double stepsPerSecond = step > measuredFrom
            ? (step - measuredFrom) / clock.Elapsed.TotalSeconds
            : (step - measuredFrom + 1) / runClock.Elapsed.TotalSeconds;
        if (!announcedEpochTime && step > measuredFrom)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"expected time per epoch: {stepsPerEpoch / stepsPerSecond:F1} s ({stepsPerSecond:F1} steps/s)"));
            announcedEpochTime = true;
        }
        return stepsPerSecond;
    }
}

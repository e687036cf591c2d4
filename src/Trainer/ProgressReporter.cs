using System.Diagnostics;
using System.Globalization;

namespace IlgpuGan.Trainer;

/// <summary>
/// What `train` prints while it runs: the expected time per epoch once, then a progress bar on a terminal (a
/// line every half minute elsewhere) and a line per epoch. It owns the clocks the rates come from.
/// </summary>
public sealed class ProgressReporter(TextWriter output, bool terminal, int stepsPerEpoch, long firstStep, long lastStep)
{
    static readonly TimeSpan TerminalInterval = TimeSpan.FromSeconds(1);
    static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(30);

    readonly Stopwatch clock = Stopwatch.StartNew();
    readonly Stopwatch epochClock = Stopwatch.StartNew();
    TimeSpan lastReport = TimeSpan.Zero;
    bool announcedEpochTime;

    /// <summary>Whether a progress update is due: the statistics are read from the device only then.</summary>
    public bool Due => clock.Elapsed - lastReport >= (terminal ? TerminalInterval : PlainInterval);

    /// <summary>Seconds since the epoch began.</summary>
    public double EpochSeconds => epochClock.Elapsed.TotalSeconds;

    /// <summary>A progress update within an epoch, from the epoch's sums so far.</summary>
    public void Progress(long step, TrainingStatistics sums, long stepsInEpoch)
    {
        double stepsPerSecond = Measured(step);
        double eta = (lastStep - step) / stepsPerSecond;
        var text = string.Create(CultureInfo.InvariantCulture,
            $"epoch {(step - 1) / stepsPerEpoch} step {step}/{lastStep} d_loss {sums.DiscriminatorLoss / stepsInEpoch:F4} g_loss {sums.GeneratorLoss / stepsInEpoch:F4} {stepsPerSecond:F1} steps/s ETA {TimeSpan.FromSeconds(eta):hh\\:mm\\:ss}");
        if (terminal)
        {
            int width = 30, filled = (int)(width * (step % stepsPerEpoch) / stepsPerEpoch);
            output.Write($"\r[{new string('#', filled)}{new string('.', width - filled)}] {text}   ");
        }
        else output.WriteLine(text);
    }

    /// <summary>The line of an epoch that has ended: its means and how long its steps took.</summary>
    public void EpochEnd(long epoch, long step, TrainingStatistics means, double seconds)
    {
        Measured(step);
        if (terminal) output.Write('\r');
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {epoch} step {step}/{lastStep}: d_loss {means.DiscriminatorLoss:F4} g_loss {means.GeneratorLoss:F4} D(x) {means.RealScore:F3} D(G(z)) {means.FakeScore:F3}/{means.GeneratorFakeScore:F3} ({seconds:F1} s)"));
    }

    /// <summary>The next epoch's clock starts (after the epoch's samples, measures and checkpoint).</summary>
    public void StartEpoch() => epochClock.Restart();

    public void Done(long step, string runFolder) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {step} steps in {clock.Elapsed.TotalSeconds:F1} s; run folder {runFolder}"));

    /// <summary>Steps per second since the start; the first time, announces the time per epoch it implies.</summary>
    double Measured(long step)
    {
        lastReport = clock.Elapsed;
        double stepsPerSecond = (step - firstStep) / clock.Elapsed.TotalSeconds;
        if (!announcedEpochTime)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"expected time per epoch: {stepsPerEpoch / stepsPerSecond:F1} s ({stepsPerSecond:F1} steps/s)"));
            announcedEpochTime = true;
        }
        return stepsPerSecond;
    }
}

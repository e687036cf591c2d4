using System.Globalization;

namespace IlgpuGan.Trainer;

/// <summary>
/// What `train` prints while it runs: the expected time per epoch once, then a progress bar on a terminal (a
/// line every half minute elsewhere) and a line per epoch. It owns the clocks the rates come from. The first step's
/// time is mostly the kernels' compilation and the first report's includes that of the kernels that read the
/// statistics, so rates are measured from the first report on once a step has followed it, and the time per epoch is
/// announced only once <see cref="EstimateSteps"/> steps and <see cref="EstimateTime"/> have been measured so.
/// </summary>
public sealed class ProgressReporter
{
    /// <summary>How often progress is shown within an epoch: the run reads the device's sums only then.</summary>
    public static TimeSpan Interval(bool terminal) => TimeSpan.FromSeconds(terminal ? 1 : 30);

    /// <summary>What the time per epoch is estimated from at least: a few steps, over long enough a time to average a step's jitter.</summary>
    public const int EstimateSteps = 10;
    public static readonly TimeSpan EstimateTime = TimeSpan.FromSeconds(1);

    readonly TextWriter output;
    readonly bool terminal;
    readonly int stepsPerEpoch;
    readonly long lastStep;
    readonly TimeProvider time;
    readonly long runStart;
    /// <summary>The step and time rates are measured from: the run's start, then the first step's end, then the first report.</summary>
    (long Step, long At) measuredFrom;
    bool compiled, reported, announcedEpochTime;
    /// <summary>The length of the progress bar on screen, which the next line overwrites.</summary>
    int barLength;

    /// <summary>Progress of a run from <paramref name="firstStep"/> to <paramref name="lastStep"/>, timed by <paramref name="clock"/> (the system's by default).</summary>
    public ProgressReporter(TextWriter output, bool terminal, int stepsPerEpoch, long firstStep, long lastStep, TimeProvider? clock = null)
    {
        (this.output, this.terminal, this.stepsPerEpoch, this.lastStep) = (output, terminal, stepsPerEpoch, lastStep);
        time = clock ?? TimeProvider.System;
        runStart = time.GetTimestamp();
        measuredFrom = (firstStep, runStart);
    }

    /// <summary>The first step is done: steps per second are measured from here until the first report.</summary>
    public void Compiled(long step)
    {
        measuredFrom = (step, time.GetTimestamp());
        compiled = true;
    }

    /// <summary>A progress update within an epoch, from the epoch's means so far.</summary>
    public void Progress(long step, TrainingStatistics means)
    {
        double stepsPerSecond = Measured(step);
        var text = string.Create(CultureInfo.InvariantCulture,
            $"epoch {(step - 1) / stepsPerEpoch + 1} step {step}/{lastStep} d_loss {means.DiscriminatorLoss:F4} g_loss {means.GeneratorLoss:F4} {stepsPerSecond:F1} steps/s ETA {Eta((lastStep - step) / stepsPerSecond)}");
        if (terminal)
        {
            int width = 30, filled = (int)(width * (step % stepsPerEpoch) / stepsPerEpoch);
            var bar = $"[{new string('#', filled)}{new string('.', width - filled)}] {text}";
            output.Write($"\r{bar.PadRight(barLength)}");
            barLength = bar.Length;
        }
        else output.WriteLine(text);
    }

    /// <summary>The line of the epoch <paramref name="epochNumber"/> (counted from 1) that has ended: its means and how long its steps took.</summary>
    public void EpochEnd(long epochNumber, long step, TrainingStatistics means, double seconds)
    {
        Measured(step);
        ClearBar();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"epoch {epochNumber} step {step}/{lastStep}: d_loss {means.DiscriminatorLoss:F4} g_loss {means.GeneratorLoss:F4} D(x) {means.RealScore:F3} D(G(z)) {means.FakeScore:F3}/{means.GeneratorFakeScore:F3} ({seconds:F1} s)"));
    }

    /// <summary>Wipes the progress bar on screen, so that a line can take its place.</summary>
    void ClearBar()
    {
        if (!terminal || barLength == 0) return;
        output.Write($"\r{new string(' ', barLength)}\r");
        barLength = 0;
    }

    public void Done(long step, string runFolder) =>
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"done: {step} steps in {time.GetElapsedTime(runStart).TotalSeconds:F1} s; run folder {runFolder}"));

    /// <summary>Hours in full, as many as there are, then minutes and seconds: 31:05:09.</summary>
    static string Eta(double seconds) =>
        double.IsFinite(seconds) && seconds >= 0
            ? string.Create(CultureInfo.InvariantCulture, $"{(long)(seconds / 3600)}:{(long)(seconds / 60) % 60:00}:{(long)seconds % 60:00}")
            : "unknown";

    /// <summary>Steps per second at a report; once enough are measured after the first report, announces the time per epoch they imply.</summary>
    double Measured(long step)
    {
        long now = time.GetTimestamp();
        var since = time.GetElapsedTime(measuredFrom.At, now);
        // Until a step after the first is done, the rate includes the compilation.
        double stepsPerSecond = step > measuredFrom.Step
            ? (step - measuredFrom.Step) / since.TotalSeconds
            : (step - measuredFrom.Step + 1) / time.GetElapsedTime(runStart, now).TotalSeconds;
        if (compiled && !reported)
        {
            reported = true;
            measuredFrom = (step, now);
        }
        else if (!announcedEpochTime && reported && step - measuredFrom.Step >= EstimateSteps && since >= EstimateTime)
        {
            ClearBar();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"expected time per epoch: {stepsPerEpoch / stepsPerSecond:F1} s ({stepsPerSecond:F1} steps/s)"));
            announcedEpochTime = true;
        }
        return stepsPerSecond;
    }
}

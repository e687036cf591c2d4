using IlgpuGan.Model;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>The progress lines of `train`, timed by a clock the test moves.</summary>
public sealed class ProgressReporterTests
{
    sealed class ManualClock : TimeProvider
    {
        long ticks;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => ticks;
        public void Advance(double seconds) => ticks += (long)(seconds * TimeSpan.TicksPerSecond);
    }

    /// <summary>
    /// A first step of compilation, a first report whose statistics' kernels compile too, then steps of 0.1 s: the time
    /// per epoch is announced once, from the steps after the first report, when ten of them have taken a second.
    /// </summary>
    [Test]
    public void TheEpochTimeIsEstimatedFromTheStepsAfterTheFirstReport()
    {
        var output = new StringWriter();
        var clock = new ManualClock();
        var progress = new ProgressReporter(output, terminal: true, stepsPerEpoch: 468, firstStep: 0, lastStep: 4680, clock);
        clock.Advance(5);
        progress.Compiled(1);
        clock.Advance(0.7);
        progress.Progress(2, new TrainingStatistics());
        for (long step = 3; step <= 40; step++)
        {
            clock.Advance(0.1);
            progress.Progress(step, new TrainingStatistics());
            if (step == 11) Assert.That(output.ToString(), Does.Not.Contain("expected time"), "nine steps measured");
        }

        var announced = output.ToString().Split('\n', '\r').Where(l => l.StartsWith("expected time per epoch: ", StringComparison.Ordinal)).ToList();
        Assert.That(announced, Is.EqualTo(new[] { "expected time per epoch: 46.8 s (10.0 steps/s)" }), output.ToString());
    }

    /// <summary>A two-step run, whose second step's time includes compilation, announces nothing it cannot know.</summary>
    [Test]
    public void ATwoStepRunAnnouncesNoEpochTime()
    {
        var output = new StringWriter();
        var clock = new ManualClock();
        var progress = new ProgressReporter(output, terminal: false, stepsPerEpoch: 468, firstStep: 0, lastStep: 2, clock);
        clock.Advance(5);
        progress.Compiled(1);
        clock.Advance(0.7);
        progress.EpochEnd(1, 2, new TrainingStatistics(), 5.7);
        progress.Done(2, "run");

        Assert.That(output.ToString(), Does.Not.Contain("expected time"));
        Assert.That(output.ToString(), Does.StartWith("epoch 1 step 2/2:"));
    }
}

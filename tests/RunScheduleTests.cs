using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>The schedule docs/command-line.md documents: grids every N epochs plus the first and the last, checkpoints and measures every N plus the end.</summary>
public sealed class RunScheduleTests
{
    const int StepsPerEpoch = 10;

    /// <summary>The 0-based epochs whose end the event falls on, in a run of 7 epochs and 3 steps.</summary>
    static long[] Epochs(Func<RunSchedule, long, bool> due, RunSchedule schedule) =>
        Enumerable.Range(1, (int)schedule.LastStep).Select(s => (long)s).Where(schedule.EndsEpoch)
            .Where(step => due(schedule, step)).Select(schedule.Epoch).ToArray();

    [Test]
    public void EventsFallOnTheDocumentedEpochs()
    {
        var schedule = new RunSchedule(StepsPerEpoch, LastStep: 73, SampleEvery: 3, CheckpointEvery: 3, EvalEvery: 2);

        Assert.That(Epochs((s, step) => s.EndsEpoch(step), schedule), Is.EqualTo(new long[] { 0, 1, 2, 3, 4, 5, 6, 7 }));
        Assert.That(Epochs((s, step) => s.Samples(step), schedule), Is.EqualTo(new long[] { 0, 3, 6, 7 }));
        Assert.That(Epochs((s, step) => s.Checkpoints(step), schedule), Is.EqualTo(new long[] { 2, 5, 7 }));
        Assert.That(Epochs((s, step) => s.Evaluates(step), schedule), Is.EqualTo(new long[] { 1, 3, 5, 7 }));
    }

    [Test]
    public void NoMeasuresWhenEvalEveryIsZero()
    {
        var schedule = new RunSchedule(StepsPerEpoch, LastStep: 30, SampleEvery: 1, CheckpointEvery: 1, EvalEvery: 0);

        Assert.That(Epochs((s, step) => s.Evaluates(step), schedule), Is.Empty);
    }
}

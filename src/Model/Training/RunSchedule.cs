namespace IlgpuGan.Model.Training;

/// <summary>
/// When a run does its periodic work, in one convention: counted in completed epochs (global ones, so a resumed
/// run keeps the schedule), an event every N epochs, and every event also at the run's last step, whether that
/// ends an epoch or not.
/// </summary>
public sealed record RunSchedule(int StepsPerEpoch, long LastStep, int SampleEvery, int CheckpointEvery, int EvalEvery, int KeepEvery = 0)
{
    /// <summary>Whether the step just taken closes an epoch, or the run's last, partial one.</summary>
    public bool EndsEpoch(long step) => step % StepsPerEpoch == 0 || step == LastStep;

    /// <summary>The 0-based index of the epoch the step just taken belongs to; people read it counted from 1.</summary>
    public long Epoch(long step) => (step - 1) / StepsPerEpoch;

    /// <summary>A sample grid after the first epoch and every SampleEvery epochs after it: epochs 1, N + 1, 2N + 1... counted from 1.</summary>
    public bool Samples(long step) => Due(step, SampleEvery, firstAfter: 1);

    /// <summary>A checkpoint after every CheckpointEvery completed epochs.</summary>
    public bool Checkpoints(long step) => Due(step, CheckpointEvery, firstAfter: CheckpointEvery);

    /// <summary>Quality measures after every EvalEvery completed epochs; never when EvalEvery is 0.</summary>
    public bool Evaluates(long step) => EvalEvery > 0 && Due(step, EvalEvery, firstAfter: EvalEvery);

    /// <summary>A kept snapshot after every KeepEvery completed epochs; never when KeepEvery is 0.</summary>
    public bool Keeps(long step) => KeepEvery > 0 && Due(step, KeepEvery, firstAfter: KeepEvery);

    /// <summary>At the run's last step, or at the end of the <paramref name="firstAfter"/>th completed epoch and every <paramref name="every"/> after it.</summary>
    bool Due(long step, int every, int firstAfter)
    {
        if (step == LastStep) return true;
        if (step % StepsPerEpoch != 0) return false;
        long completed = step / StepsPerEpoch;
        return completed >= firstAfter && (completed - firstAfter) % every == 0;
    }
}

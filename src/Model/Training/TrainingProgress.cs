namespace IlgpuGan.Model.Training;

/// <summary>When a <see cref="TrainingProgress"/> is reported.</summary>
public enum TrainingProgressKind
{
    /// <summary>The run is ready and about to take its first step: <see cref="TrainingProgress.Step"/> is where it starts.</summary>
    Started,
    /// <summary>
    /// Within an epoch: after the invocation's first step (whose time is mostly the kernels' compilation), then each
    /// time <see cref="TrainingSettings.ProgressInterval"/> has passed since the last report.
    /// </summary>
    Step,
    /// <summary>An epoch has ended (or a cancelled run's last, shortened one), its outputs written.</summary>
    Epoch,
}

/// <summary>
/// A progress report of <see cref="TrainingRun.Run"/>: the figures `train` prints. <see cref="Epoch"/> is the number
/// of the epoch the step belongs to, counted from 1 as every line and file a person reads counts it (at the start,
/// the epoch the run goes on with); <see cref="Means"/> are over the epoch's steps so far.
/// </summary>
public sealed record TrainingProgress(
    TrainingProgressKind Kind,
    long Epoch,
    long Step,
    long TotalSteps,
    int StepsPerEpoch,
    TrainingStatistics Means,
    double Seconds,
    QualityReport? Quality = null)
{
    /// <summary>D's and G's losses: d_loss and g_loss.</summary>
    public float DiscriminatorLoss => Means.DiscriminatorLoss;
    /// <summary>g_loss, G's mean loss.</summary>
    public float GeneratorLoss => Means.GeneratorLoss;
    /// <summary>D(x): D's mean score of real images.</summary>
    public float RealScore => Means.RealScore;
    /// <summary>D(G(z)): D's mean score of G's images in D's step.</summary>
    public float FakeScore => Means.FakeScore;
}

/// <summary>
/// How a run ended: at its last step, or cancelled at <see cref="Step"/> with that step's checkpoint written;
/// <see cref="Epoch"/> is the number, from 1, of the epoch that step belongs to (0 for a run that took none).
/// </summary>
public sealed record TrainingResult(long Step, long Epoch, bool Cancelled, string RunFolder);

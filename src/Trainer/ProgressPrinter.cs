namespace IlgpuGan.Trainer;

/// <summary>A run's progress as `train` prints it, through a <see cref="ProgressReporter"/> made when the run starts.</summary>
public sealed class ProgressPrinter(TextWriter output, bool terminal) : IProgress<TrainingProgress>
{
    ProgressReporter? reporter;
    bool compiled;

    public void Report(TrainingProgress progress)
    {
        if (progress.Kind == TrainingProgressKind.Started)
        {
            reporter = new ProgressReporter(output, terminal, progress.StepsPerEpoch, progress.Step, progress.TotalSteps);
            return;
        }
        var started = reporter ?? throw new InvalidOperationException("progress reported before the run started");
        // The first report comes after the invocation's first step, whose time is mostly the kernels' compilation.
        if (!compiled)
        {
            compiled = true;
            started.Compiled(progress.Step);
            if (progress.Kind == TrainingProgressKind.Step) return;
        }
        if (progress.Kind == TrainingProgressKind.Step) started.Progress(progress.Step, progress.Means);
        else started.EpochEnd(progress.Epoch, progress.Step, progress.Means, progress.Seconds);
    }

    /// <summary>The run's last line, once it has ended.</summary>
    public void Done(TrainingResult result) => reporter?.Done(result.Step, result.RunFolder);
}

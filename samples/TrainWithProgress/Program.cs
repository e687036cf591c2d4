using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Model.Training;

// Trains the stable recipe, printing a line per progress report, and cancels once it has taken the steps asked for:
// the run stops at a step boundary and writes that step's checkpoint, which `ilgpugan train --resume` continues.
// Usage: dotnet run -- [MNIST-format data folder, fetched when missing] [steps] [batch size]
var data = args.Length > 0 ? args[0] : "data/mnist";
int steps = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20;
int batchSize = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 128;

var stable = TrainingSettings.For(Recipe.Stable);
var settings = stable with
{
    DataDir = data,
    OutDir = "runs/train-with-progress",
    Model = stable.Model with { BatchSize = batchSize },
    Accelerator = AcceleratorKind.Auto,
    Overwrite = true,
    // A report after every step: each one reads the device's sums, which a long run does only now and then.
    ProgressInterval = TimeSpan.Zero,
};

using var cancellation = new CancellationTokenSource();
var progress = new ConsoleProgress(report =>
{
    if (report.Step >= steps) cancellation.Cancel();
});
try
{
    var result = TrainingRun.Run(settings, progress, cancellation.Token, log: Console.Out);
    Console.WriteLine(result.Cancelled
        ? $"cancelled after step {result.Step}; its checkpoint is in {result.RunFolder}"
        : $"the run ended at step {result.Step}");
    return 0;
}
catch (IlgpuGanException e)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}

/// <summary>
/// Prints each report as it comes. Progress&lt;T&gt; would do as well in an app with a UI thread; in a console it
/// runs its handler on the thread pool, where lines may come out of order and after the run has moved on.
/// </summary>
sealed class ConsoleProgress(Action<TrainingProgress> then) : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress report)
    {
        Console.WriteLine(report.Kind switch
        {
            TrainingProgressKind.Started => $"starting at step {report.Step} of {report.TotalSteps}, {report.StepsPerEpoch} steps an epoch",
            TrainingProgressKind.Step => Line("step", report),
            _ => Line("epoch end", report) + (report.Quality is { } q ? $" Fréchet {q.Frechet:F3}" : ""),
        });
        then(report);
    }

    static string Line(string what, TrainingProgress report) => string.Create(CultureInfo.InvariantCulture,
        $"{what}: epoch {report.Epoch} step {report.Step}/{report.TotalSteps} d_loss {report.DiscriminatorLoss:F4} g_loss {report.GeneratorLoss:F4} " +
        $"D(x) {report.RealScore:F3} D(G(z)) {report.FakeScore:F3} ({report.Seconds:F1} s)");
}

using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using SixLabors.ImageSharp;

namespace IlgpuGan.Trainer;

/// <summary>The `ilgpugan` command line: its commands and the errors that end them.</summary>
public static class Program
{
    public const int Failure = 1;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error, terminal: !Console.IsOutputRedirected);

    public static int Run(IReadOnlyList<string> args, TextWriter output, TextWriter error, bool terminal)
    {
        try
        {
            return CommandLine.Run(args, Commands(output, terminal), output, error);
        }
        catch (Exception e) when (e is DataFormatException or FileNotFoundException or DirectoryNotFoundException
                                      or CheckpointException or DeviceUnavailableException or DivergedException
                                      or DownloadException or IOException or UnauthorizedAccessException
                                      or ArgumentException)
        {
            output.Flush();
            error.WriteLine($"{CommandLine.ProgramName}: {e.Message}");
            return Failure;
        }
    }

    static IReadOnlyList<Command> Commands(TextWriter output, bool terminal) =>
    [
        new("info", "lists the accelerators found and why any cannot be used", _ => () => Info(output)),
        new("train", "trains the GAN (the stable recipe unless --recipe names another); writes samples, metrics, loss curves and checkpoints to a run folder", args =>
        {
            var recipe = args.Choice("recipe", Recipes.Default, "training recipe, whose values the other options override: " +
                string.Join("; ", Enum.GetValues<Recipe>().Select(r => $"{CommandArgs.ChoiceName(r)}: {Recipes.Describe(r)}")));
            var defaults = TrainOptions.ForRecipe(recipe);
            var options = defaults with
            {
                DataDir = args.Path("data", defaults.DataDir, "folder of the four MNIST-format IDX files (raw or .gz); fetched when it does not exist"),
                OutDir = args.Path("out", defaults.OutDir, "run folder"),
                Epochs = args.Int("epochs", defaults.Epochs, "epochs to train", min: 1),
                BatchSize = args.Int("batch-size", defaults.BatchSize, "images per batch", min: 2, max: 65536),
                ZDim = args.Int("z-dim", defaults.ZDim, "length of the noise vector z", min: 1, max: 65536),
                LearningRate = args.Double("lr", defaults.LearningRate, "Adam learning rate", min: 0, max: float.MaxValue),
                WeightDecay = args.Double("weight-decay", defaults.WeightDecay, "L2 weight decay added to the gradient", min: 0, max: 1),
                Seed = (ulong)args.Int("seed", 0, "seed of every random draw of the run", min: 0),
                Loss = args.Choice("loss", defaults.Loss, "generator loss"),
                Beta1 = args.Double("beta1", defaults.Beta1, "Adam β1", min: 0, max: 0.999),
                RealTarget = args.Double("real-target", defaults.RealTarget, "D's target for real images (below 1: one-sided label smoothing)", min: 0.5, max: 1),
                DiscriminatorDropout = args.Double("d-dropout", defaults.DiscriminatorDropout, "dropout probability after each hidden LeakyReLU of D", min: 0, max: 0.99),
                GeneratorAverageDecay = args.Double("g-average", defaults.GeneratorAverageDecay, "decay of the moving average of G's weights that draws the samples (0: none)", min: 0, max: 0.999999),
                Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run (auto: CUDA, then OpenCL, then CPU)"),
                SampleEvery = args.Int("sample-every", defaults.SampleEvery, "epochs between sample grids (the first and last epoch always get one)", min: 1),
                CheckpointEvery = args.Int("checkpoint-every", defaults.CheckpointEvery, "epochs between checkpoints (the run's end always gets one)", min: 1),
                MaxSteps = args.Int("max-steps", 0, "stop after this many steps (0: no limit)", min: 0) is var max and > 0 ? max : null,
                Resume = args.Path("resume", null, "checkpoint to continue from (its model config is used)"),
                EvalEvery = args.Int("eval-every", 0, "epochs between quality measures appended to metrics.csv, as eval's (0: off; the run's last epoch too when on)", min: 0),
                EvalSamples = args.Int("eval-samples", Evaluation.DefaultCount, "samples drawn for each quality measure", min: 2, max: 1_000_000),
            };
            return () =>
            {
                new TrainingRun(options, output, terminal).Run();
                return 0;
            };
        }),
        new("sample", "draws samples from a checkpoint as a PNG grid and an IDX ubyte file", args =>
        {
            var checkpoint = args.Path("checkpoint", TrainOptions.ForRecipe(Recipes.Default).OutDir + "/" + TrainingRun.CheckpointFile, "checkpoint to sample from");
            var count = args.Int("count", 64, "samples to draw", min: 1, max: 1_000_000);
            var png = args.Path("png", "samples.png", "PNG grid to write");
            var idx = args.Path("idx", "samples-idx3-ubyte", "IDX file to write (MNIST's format, N×28×28 bytes)");
            var mode = args.Choice("bn", SampleMode.Train, "BatchNorm statistics: train (batches of the training batch size, as the seed samples) or eval (running statistics)");
            var seed = args.Int("seed", 1, "seed of the samples' noise", min: 0);
            var accelerator = args.Choice("accelerator", AcceleratorKind.Auto, "where the kernels run");
            return () =>
            {
                Sampling.Run(checkpoint, count, png, idx, mode, (ulong)seed, accelerator, output);
                return 0;
            };
        }),
        Profiling.Command(output),
        Benchmark.Command(output),
        Interop.ExportCommand(output),
        Interop.ImportCommand(output),
        new("eval", "measures samples (from a checkpoint or an IDX file): Parzen log-likelihood, Fréchet distance, classifier score, class shares, beside real digits", args =>
        {
            var defaults = new EvalOptions();
            var options = new EvalOptions
            {
                DataDir = args.Path("data", defaults.DataDir, "folder of the four MNIST-format IDX files"),
                Checkpoint = args.Path("checkpoint", null, "checkpoint to draw the samples from"),
                Samples = args.Path("samples", null, "IDX file of samples (N×28×28 bytes) instead of a checkpoint"),
                Count = args.Int("count", defaults.Count, "samples to draw from the checkpoint", min: 2, max: 1_000_000),
                Mode = args.Choice("bn", defaults.Mode, "BatchNorm statistics when drawing: train (batch statistics, as the seed samples) or eval (running statistics)"),
                Seed = (ulong)args.Int("seed", (int)defaults.Seed, "seed of the samples' noise", min: 0),
                Classifier = args.Path("classifier", defaults.Classifier, "classifier file whose features and predictions are measured"),
                Json = args.Path("json", null, "also write the figures to this JSON file"),
                Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
            };
            return () =>
            {
                Evaluation.Run(options, output);
                return 0;
            };
        }),
        new("classifier", "trains the MNIST classifier eval measures with (models/mnist-classifier.bin) by our kernels", args =>
        {
            var defaults = new ClassifierOptions();
            var options = new ClassifierOptions
            {
                DataDir = args.Path("data", defaults.DataDir, "folder of the four MNIST-format IDX files"),
                OutPath = args.Path("out", defaults.OutPath, "classifier file to write"),
                Epochs = args.Int("epochs", defaults.Epochs, "epochs to train", min: 1),
                BatchSize = args.Int("batch-size", defaults.BatchSize, "images per batch", min: 1, max: 65536),
                Seed = (ulong)args.Int("seed", 0, "seed of the initial weights and the shuffles", min: 0),
                Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
            };
            return () =>
            {
                ClassifierRun.Run(options, output);
                return 0;
            };
        }),
    ];

    static int Info(TextWriter output)
    {
        foreach (var report in ComputeDevice.Survey())
        {
            var memory = report.MemoryBytes > 0 ? string.Create(CultureInfo.InvariantCulture, $", {report.MemoryBytes / (1024.0 * 1024 * 1024):F1} GiB") : "";
            var verdict = report.Usable ? (report.Kind == AcceleratorKind.OpenCL && !report.IsGpu ? "usable (an OpenCL CPU device: auto prefers the CPU accelerator)" : "usable") : $"not usable: {report.RejectedBecause}";
            output.WriteLine($"{report.Kind,-6} {report.Name}{memory}: {verdict}");
        }
        return 0;
    }
}

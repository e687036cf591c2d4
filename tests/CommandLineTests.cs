using IlgpuGan.Kernels;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

public class CommandLineTests
{
    /// <summary>What a train command read, set by its work when it runs.</summary>
    sealed record TrainOptions(int Epochs, double LearningRate, AcceleratorKind Accelerator, string Data, string? Checkpoint, float Dropout);

    TrainOptions? ran;

    List<Command> Commands() =>
    [
        new("info", "lists the accelerators", _ => () => 0),
        new("train", "trains the GAN on MNIST", args =>
        {
            var epochs = args.Int("epochs", 300, "training epochs", min: 1);
            var learningRate = args.Double("lr", 0.0002, "Adam's learning rate", min: 0, max: 1);
            var accelerator = args.Choice("accelerator", AcceleratorKind.Auto, "where the kernels run");
            var data = args.Path("data", "data/mnist", "the MNIST folder");
            var checkpoint = args.Path("checkpoint", null, "a checkpoint to resume from");
            var dropout = args.Float("dropout", 0.3f, "dropout probability", min: 0, max: 0.99f);
            return () =>
            {
                ran = new TrainOptions(epochs, learningRate, accelerator, data, checkpoint, dropout);
                return 0;
            };
        }),
        new("sample", "writes generated digits", args =>
        {
            var count = args.Int("count", 64, "how many digits");
            return () => count > 100 ? throw new UsageException("--count: too many for one grid") : 0;
        }),
    ];

    (int ExitCode, string Output, string Error) Run(params string[] argv)
    {
        ran = null;
        var output = new StringWriter();
        var error = new StringWriter();
        int exitCode = CommandLine.Run(argv, Commands(), output, error);
        return (exitCode, output.ToString(), error.ToString());
    }

    [Test]
    public void DefaultsApplyWhenOptionsAreAbsent()
    {
        var (exitCode, _, error) = Run("train");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(ran, Is.EqualTo(new TrainOptions(300, 0.0002, AcceleratorKind.Auto, "data/mnist", null, 0.3f)));
    }

    [Test]
    public void GivenOptionsAreParsedByType()
    {
        var (exitCode, _, error) = Run("train", "--epochs", "5", "--lr=1e-3", "--accelerator", "OpenCL",
            "--dropout", "0.1", "--data", "/tmp/x y", "--checkpoint", "runs/a/checkpoint.ckpt");

        Assert.That(exitCode, Is.EqualTo(0), error);
        Assert.That(ran, Is.EqualTo(new TrainOptions(5, 0.001, AcceleratorKind.OpenCL, "/tmp/x y", "runs/a/checkpoint.ckpt", 0.1f)));
    }

    [TestCase(new[] { "--epochs", "abc" }, "--epochs: 'abc' is not a whole number")]
    [TestCase(new[] { "--epochs", "2.5" }, "--epochs: '2.5' is not a whole number")]
    [TestCase(new[] { "--epochs", "0" }, "--epochs: 0 is less than the minimum 1")]
    [TestCase(new[] { "--lr", "1.5" }, "--lr: 1.5 is more than the maximum 1")]
    [TestCase(new[] { "--lr", "NaN" }, "--lr: 'NaN' is not a number")]
    [TestCase(new[] { "--lr", "0,1" }, "--lr: '0,1' is not a number")]
    [TestCase(new[] { "--accelerator", "tpu" }, "--accelerator: 'tpu' is not one of auto, cuda, opencl, cpu")]
    [TestCase(new[] { "--dropout", "1" }, "--dropout: 1 is more than the maximum 0.99")]
    [TestCase(new[] { "--dropout", "1e39" }, "--dropout: '1e39' is beyond a float's range")]
    [TestCase(new[] { "--data", "" }, "--data: the path is empty")]
    [TestCase(new[] { "--epochs" }, "--epochs: missing value")]
    [TestCase(new[] { "--epochs", "--lr", "0.1" }, "--epochs: missing value")]
    [TestCase(new[] { "--epochs", "1", "--epochs", "2" }, "--epochs is given twice")]
    [TestCase(new[] { "5" }, "unexpected argument '5'; options are written --name value")]
    [TestCase(new[] { "-e", "5" }, "unexpected argument '-e'; options are written --name value")]
    [TestCase(new[] { "--epoch", "5" }, "--epoch is not an option of train; its options are --epochs, --lr, --accelerator, --data, --checkpoint, --dropout")]
    public void BadArgumentsAreUsageErrorsNamingTheArgument(string[] arguments, string message)
    {
        var (exitCode, output, error) = Run(["train", .. arguments]);

        Assert.That(exitCode, Is.EqualTo(2));
        Assert.That(ran, Is.Null, "the command must not run");
        Assert.That(output, Is.Empty);
        Assert.That(error, Is.EqualTo($"ilgpugan: {message}\nRun 'ilgpugan train --help' for usage.\n"));
    }

    [Test]
    public void NegativeNumbersAreValues()
    {
        var (exitCode, _, error) = Run("train", "--epochs", "-3");

        Assert.That(exitCode, Is.EqualTo(2));
        Assert.That(error, Does.StartWith("ilgpugan: --epochs: -3 is less than the minimum 1"));
    }

    [Test]
    public void UsageErrorFromTheCommandsWorkExitsWithTwo()
    {
        Assert.That(Run("sample", "--count", "50").ExitCode, Is.EqualTo(0));
        var (exitCode, _, error) = Run("sample", "--count", "500");

        Assert.That(exitCode, Is.EqualTo(2));
        Assert.That(error, Does.StartWith("ilgpugan: --count: too many for one grid"));
    }

    [TestCase]
    [TestCase("--epochs", "abc")]
    [TestCase("--unknown", "1", "stray")]
    public void CommandHelpListsEveryOptionAndRunsNothing(params string[] others)
    {
        var (exitCode, output, error) = Run(["train", .. others, "--help"]);

        Assert.That(exitCode, Is.EqualTo(0));
        Assert.That(ran, Is.Null);
        Assert.That(error, Is.Empty);
        Assert.That(output, Is.EqualTo(
            """
            Usage: ilgpugan train [--option value]...

            trains the GAN on MNIST

            Options:
              --epochs <int>                        training epochs (default: 300, at least 1)
              --lr <number>                         Adam's learning rate (default: 0.0002, at least 0, at most 1)
              --accelerator <auto|cuda|opencl|cpu>  where the kernels run (default: auto)
              --data <path>                         the MNIST folder (default: data/mnist)
              --checkpoint <path>                   a checkpoint to resume from
              --dropout <number>                    dropout probability (default: 0.3, at least 0, at most 0.99)
              -h, --help                            show this help
              --version                             show the program's version

            """));
    }

    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("help")]
    public void OverallHelpListsTheCommands(string help)
    {
        var (exitCode, output, _) = Run(help);

        Assert.That(exitCode, Is.EqualTo(0));
        Assert.That(output, Is.EqualTo(
            """
            Usage: ilgpugan <command> [--option value]...

            Commands:
              info    lists the accelerators
              train   trains the GAN on MNIST
              sample  writes generated digits

            Options:
              -h, --help  show this help
              --version   show the program's version

            Run 'ilgpugan <command> --help' for the options of a command.

            """));
    }

    [Test]
    public void ShortHelpIsHelpForEveryCommand()
    {
        foreach (var command in Commands())
        {
            var (exitCode, output, error) = Run(command.Name, "-h");
            Assert.That((exitCode, error), Is.EqualTo((0, "")), command.Name);
            Assert.That(output, Is.EqualTo(Run(command.Name, "--help").Output).And.StartWith($"Usage: ilgpugan {command.Name} "), command.Name);
        }
    }

    /// <summary>--version alone or after any command: the informational version the build stamped, nothing run.</summary>
    [TestCase("--version")]
    [TestCase("train", "--epochs", "0", "--version")]
    [TestCase("info", "--version")]
    public void VersionPrintsTheInformationalVersion(params string[] argv)
    {
        var stamped = typeof(CommandLine).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .Cast<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;

        var (exitCode, output, error) = Run(argv);

        Assert.That((exitCode, error), Is.EqualTo((0, "")));
        Assert.That(ran, Is.Null);
        Assert.That(output, Is.EqualTo($"ilgpugan {stamped}\n"));
        Assert.That(stamped, Does.Match(@"^\d+\.\d+\.\d+"));
    }

    [Test]
    public void MissingOrUnknownCommandIsAUsageError()
    {
        var (exitCode, _, error) = Run();
        Assert.That(exitCode, Is.EqualTo(2));
        Assert.That(error, Is.EqualTo("ilgpugan: no command given\nRun 'ilgpugan --help' for usage.\n"));

        (exitCode, _, error) = Run("trian", "--epochs", "3");
        Assert.That(exitCode, Is.EqualTo(2));
        Assert.That(error, Does.StartWith("ilgpugan: unknown command 'trian'; the commands are info, train, sample\n"));
    }

    [Test]
    public void DeclaringAnOptionTwiceIsAProgrammingError()
    {
        var twice = new Command("bench", "times kernels", args =>
        {
            args.Int("size", 1, "matrix size");
            args.Int("size", 2, "matrix size");
            return () => 0;
        });

        Assert.Throws<InvalidOperationException>(() => CommandLine.Run(["bench"], [twice], TextWriter.Null, TextWriter.Null));
    }
}

using IlgpuGan.Kernels;
using IlgpuGan.Model;

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
        catch (Exception e) when (IsReportedFailure(e))
        {
            output.Flush();
            // A message may quote a file's contents: escaped, it stays one line and moves no cursor.
            error.WriteLine($"{CommandLine.ProgramName}: {Printable.Escape(e.Message)}");
            return Failure;
        }
    }

    /// <summary>
    /// Whether an exception is a failure the program reports as one line with exit code <see cref="Failure"/>: every kind
    /// the readers throw for a bad file, and the device's, the download's and the file system's. Any other is a bug,
    /// and keeps its stack trace.
    /// </summary>
    public static bool IsReportedFailure(Exception e) =>
        e is IlgpuGanException or DeviceUnavailableException
            or IOException or UnauthorizedAccessException or ArgumentException or OutOfMemoryException;

    static IReadOnlyList<Command> Commands(TextWriter output, bool terminal) =>
    [
        InfoCommand.Create(output),
        TrainCommand.Create(output, terminal),
        SampleCommand.Create(output),
        ProfileCommand.Create(output),
        BenchCommand.Create(output),
        EvalCommand.Create(output),
        ClassifierCommand.Create(output),
        ExportCommand.Create(output),
        ImportCommand.Create(output),
        ReportCommand.Create(output),
        InterpolateCommand.Create(output),
    ];
}

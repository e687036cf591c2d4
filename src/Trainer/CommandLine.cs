using System.Reflection;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>A command line that cannot be obeyed; the message names the argument at fault.</summary>
public sealed class UsageException(string message) : Exception(message)
{
    /// <summary>The exit code of a usage error, as in BSD's sysexits and Python's argparse.</summary>
    public const int ExitCode = 2;
}

/// <summary>
/// A subcommand of <c>ilgpugan</c>. Declare reads every option from the <see cref="CommandArgs"/> and returns
/// the work to do with them, e.g.
/// <code>
/// new Command("train", "trains the GAN", args =>
/// {
///     var epochs = args.Int("epochs", 300, "training epochs", min: 1);
///     var accelerator = args.Choice("accelerator", AcceleratorKind.Auto, "where the kernels run");
///     return () => Training.Run(epochs, accelerator);
/// });
/// </code>
/// Splitting declaring from doing lets <c>--help</c> list the options and unknown options be rejected
/// before any work starts.
/// </summary>
public sealed record Command(string Name, string Summary, Func<CommandArgs, Func<int>> Declare)
{
    /// <summary>
    /// A command whose <paramref name="read"/> declares and reads every option into one record, and whose
    /// <paramref name="run"/> does the work with it, exiting 0 when it returns.
    /// </summary>
    public static Command Of<TOptions>(string name, string summary, Func<CommandArgs, TOptions> read, Action<TOptions> run) =>
        new(name, summary, args =>
        {
            var options = read(args);
            return () =>
            {
                run(options);
                return 0;
            };
        });

    /// <summary>A command without options: any option given is rejected as unknown.</summary>
    public static Command Of(string name, string summary, Action run) =>
        new(name, summary, _ => () =>
        {
            run();
            return 0;
        });
}

/// <summary><c>ilgpugan &lt;command&gt; [--option value]...</c>: finds the command, checks its options, runs it.</summary>
public static class CommandLine
{
    public const string ProgramName = "ilgpugan";

    /// <summary>The options every command and the program itself take, as the help lists them.</summary>
    public static readonly (string Usage, string Help)[] CommonOptions =
        [("-h, --help", "show this help"), ("--version", "show the program's version")];

    /// <summary>The program's version, as its build stamped it (the package version, and the commit when known).</summary>
    public static string Version =>
        typeof(CommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CommandLine).Assembly.GetName().Version?.ToString() ?? "unknown";

    /// <summary>
    /// Runs the command argv names and returns its exit code; help and the version go to output with 0, usage errors
    /// to error with <see cref="UsageException.ExitCode"/>, a <see cref="UsageException"/> the command throws included.
    /// </summary>
    public static int Run(IReadOnlyList<string> argv, IReadOnlyList<Command> commands, TextWriter output, TextWriter error)
    {
        if (argv.Count > 0 && argv[0] is "--help" or "-h" or "help")
        {
            output.Write(Usage(commands));
            return 0;
        }
        if (argv.Count > 0 && argv[0] is "--version")
        {
            output.WriteLine($"{ProgramName} {Version}");
            return 0;
        }
        var command = argv.Count > 0 ? commands.FirstOrDefault(c => c.Name == argv[0]) : null;
        try
        {
            if (argv.Count == 0) throw new UsageException("no command given");
            if (command is null)
                throw new UsageException(
                    $"unknown command '{argv[0]}'; the commands are {string.Join(", ", commands.Select(c => c.Name))}");
            var args = new CommandArgs(command.Name, argv.Skip(1).ToList());
            var work = command.Declare(args);
            if (args.HelpRequested)
            {
                output.Write(args.Help(command.Summary));
                return 0;
            }
            if (args.VersionRequested)
            {
                output.WriteLine($"{ProgramName} {Version}");
                return 0;
            }
            args.RejectUndeclared();
            return work();
        }
        catch (UsageException e)
        {
            error.WriteLine($"{ProgramName}: {Printable.Escape(e.Message)}");
            error.WriteLine($"Run '{ProgramName}{(command is null ? "" : " " + command.Name)} --help' for usage.");
            return UsageException.ExitCode;
        }
    }

    /// <summary>The overall help: the commands and their summaries.</summary>
    public static string Usage(IReadOnlyList<Command> commands)
    {
        var text = new StringWriter();
        text.WriteLine($"Usage: {ProgramName} <command> [--option value]...");
        text.WriteLine();
        text.WriteLine("Commands:");
        int width = commands.Max(c => c.Name.Length);
        foreach (var command in commands) text.WriteLine($"  {command.Name.PadRight(width)}  {command.Summary}");
        text.WriteLine();
        text.WriteLine("Options:");
        width = CommonOptions.Max(o => o.Usage.Length);
        foreach (var (usage, help) in CommonOptions) text.WriteLine($"  {usage.PadRight(width)}  {help}");
        text.WriteLine();
        text.WriteLine($"Run '{ProgramName} <command> --help' for the options of a command.");
        return text.ToString();
    }
}

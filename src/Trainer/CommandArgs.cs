using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text.Json.Serialization;

namespace IlgpuGan.Trainer;

/// <summary>A yes-or-no option whose default, a recipe's, may be either, so that a flag could not turn it off.</summary>
public enum Switch { Off, On }

/// <summary>
/// The options given to one command, read by typed getters that also declare them (name, default, help).
/// Options are <c>--name value</c> or <c>--name=value</c>. Under <c>--help</c> (or <c>-h</c>) and
/// <c>--version</c> every getter returns its default and only the declarations are kept, for the help text; but
/// for an option that sets other options' defaults (train's --recipe), whose given value the help's defaults follow.
/// </summary>
public sealed class CommandArgs
{
    readonly string command;
    readonly Dictionary<string, string?> given = [];
    readonly List<(string Name, string Usage, string Help)> declared = [];
    /// <summary>The options given that set the defaults the help shows, as typed: "--recipe seed".</summary>
    readonly List<string> defaultsFrom = [];

    public bool HelpRequested { get; }
    public bool VersionRequested { get; }

    /// <summary>Whether the command is only declaring its options (for --help or --version), not to run.</summary>
    bool Declaring => HelpRequested || VersionRequested;

    /// <summary>
    /// Splits a command's arguments (those after its name); throws <see cref="UsageException"/> on ill-formed ones,
    /// but for --help and --version, which pass them over.
    /// </summary>
    public CommandArgs(string command, IReadOnlyList<string> arguments)
    {
        this.command = command;
        HelpRequested = arguments.Any(a => a is "--help" or "-h");
        VersionRequested = !HelpRequested && arguments.Contains("--version");
        for (int i = 0; i < arguments.Count; i++)
        {
            var argument = arguments[i];
            if (Declaring && argument is "--help" or "-h" or "--version") continue;
            if (!argument.StartsWith("--", StringComparison.Ordinal) || argument.Length == 2)
            {
                if (Declaring) continue;
                throw new UsageException($"unexpected argument '{argument}'; options are written --name value");
            }
            var (name, value) = argument.IndexOf('=') is var equals and > 0
                ? (argument[2..equals], argument[(equals + 1)..])
                : (argument[2..], i + 1 < arguments.Count && !arguments[i + 1].StartsWith("--", StringComparison.Ordinal) && arguments[i + 1] != "-h"
                    ? arguments[++i]
                    : null);
            if (!given.TryAdd(name, value) && !Declaring) throw new UsageException($"--{name} is given twice");
        }
    }

    /// <summary>A whole number option, within [min, max].</summary>
    public int Int(string name, int defaultValue, string help, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = Declare(name, "<int>", help + Defaults(defaultValue.ToString(CultureInfo.InvariantCulture), min, max, int.MinValue, int.MaxValue));
        return text is null ? defaultValue : ParseInt(name, text, min, max);
    }

    /// <summary>A whole number option within [min, max], null when absent: the help says what the command does then.</summary>
    public int? OptionalInt(string name, string help, int min = int.MinValue, int max = int.MaxValue)
    {
        var text = Declare(name, "<int>", help);
        return text is null ? null : ParseInt(name, text, min, max);
    }

    /// <summary>
    /// Comma-separated whole numbers, each within [min, max]; the default (null: the help says what the command
    /// does then) when absent.
    /// </summary>
    public IReadOnlyList<int>? IntList(string name, IReadOnlyList<int>? defaultValue, string help,
        int min = int.MinValue, int max = int.MaxValue)
    {
        var text = Declare(name, "<int,int,...>",
            help + (defaultValue is null ? "" : $" (default: {string.Join(',', defaultValue)})"));
        if (text is null) return defaultValue;
        return text.Split(',').Select(item => ParseInt(name, item.Trim(), min, max)).ToArray();
    }

    /// <summary>A finite real number option, within [min, max].</summary>
    public double Double(string name, double defaultValue, string help,
        double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        var text = Declare(name, "<number>", help + Defaults(defaultValue.ToString("R", CultureInfo.InvariantCulture), min, max, double.NegativeInfinity, double.PositiveInfinity));
        return text is null ? defaultValue : InRange(name, ParseNumber(name, text), min, max);
    }

    /// <summary>
    /// A real number option that the model keeps as a float, within [min, max] once rounded to float; the help
    /// prints the float's shortest text (2E-4f as 0.0002).
    /// </summary>
    public float Float(string name, float defaultValue, string help, float min = float.NegativeInfinity, float max = float.PositiveInfinity)
    {
        var text = Declare(name, "<number>", help + Defaults(defaultValue.ToString("R", CultureInfo.InvariantCulture), min, max, float.NegativeInfinity, float.PositiveInfinity));
        if (text is null) return defaultValue;
        double number = ParseNumber(name, text);
        var value = (float)number;
        if (!float.IsFinite(value)) throw new UsageException($"--{name}: '{text}' is beyond a float's range");
        if (value == 0 && number != 0) throw new UsageException($"--{name}: '{text}' is too small for a float; it would be taken as 0");
        return InRange(name, value, min, max);
    }

    /// <summary>
    /// One of an enum's values, written in kebab case (any case is accepted). With <paramref name="setsDefaults"/>,
    /// the value given is read under --help too, since the defaults of the options declared after it follow it.
    /// </summary>
    public T Choice<T>(string name, T defaultValue, string help, bool setsDefaults = false) where T : struct, Enum
    {
        var choices = Enum.GetValues<T>().ToDictionary(ChoiceName);
        var text = Declare(name, $"<{string.Join('|', choices.Keys)}>", $"{help} (default: {ChoiceName(defaultValue)})");
        if (text is null && setsDefaults && Declaring && given.TryGetValue(name, out var shaping) && shaping is not null)
        {
            text = shaping;
            defaultsFrom.Add($"--{name} {text}");
        }
        if (text is null) return defaultValue;
        return choices.TryGetValue(text.ToLowerInvariant(), out var value)
            ? value
            : throw new UsageException($"--{name}: '{text}' is not one of {string.Join(", ", choices.Keys)}");
    }

    /// <summary>
    /// An enum value as typed on the command line: the name its <see cref="JsonStringEnumMemberNameAttribute"/>
    /// gives (Recipe.Reference → seed), else the member's in kebab case: NonSaturating → non-saturating. A hyphen
    /// goes only where a lower-case letter meets a capitalised word, so acronyms stay whole: OpenCL → opencl.
    /// </summary>
    public static string ChoiceName<T>(T value) where T : struct, Enum
    {
        var text = value.ToString();
        if (typeof(T).GetField(text)?.GetCustomAttribute<JsonStringEnumMemberNameAttribute>() is { } spelled)
            return spelled.Name;
        var name = new System.Text.StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (i > 0 && char.IsUpper(text[i]) && char.IsLower(text[i - 1]) && i + 1 < text.Length && char.IsLower(text[i + 1]))
                name.Append('-');
            name.Append(char.ToLowerInvariant(text[i]));
        }
        return name.ToString();
    }

    /// <summary>A file or folder path, as given (relative to the working directory); null only when the default is.</summary>
    [return: NotNullIfNotNull(nameof(defaultValue))]
    public string? Path(string name, string? defaultValue, string help)
    {
        var text = Declare(name, "<path>", help + (defaultValue is null ? "" : $" (default: {defaultValue})"));
        if (text is null) return defaultValue;
        if (text.Length == 0) throw new UsageException($"--{name}: the path is empty");
        return text;
    }

    /// <summary>An option without a value: true when given.</summary>
    public bool Flag(string name, string help)
    {
        Record(name, "", help);
        if (Declaring || !given.TryGetValue(name, out var text)) return false;
        return text is null ? true : throw new UsageException($"--{name} takes no value (given '{text}')");
    }

    /// <summary>Whether the option was on the command line, as opposed to taking its default.</summary>
    public bool Given(string name) => !Declaring && given.ContainsKey(name);

    /// <summary>The command's help: usage, summary and every declared option.</summary>
    public string Help(string summary)
    {
        var options = declared.Select(o => ($"--{o.Name} {o.Usage}".TrimEnd(), o.Help))
            .Concat(CommandLine.CommonOptions).ToList();
        int width = options.Max(o => o.Item1.Length);
        var text = new StringWriter();
        text.WriteLine($"Usage: {CommandLine.ProgramName} {command} [--option value]...");
        text.WriteLine();
        text.WriteLine(summary);
        text.WriteLine();
        text.WriteLine(defaultsFrom.Count == 0 ? "Options:" : $"Options, with the defaults of {string.Join(", ", defaultsFrom)}:");
        foreach (var (usage, help) in options) text.WriteLine($"  {usage.PadRight(width)}  {help}");
        return text.ToString();
    }

    /// <summary>Throws <see cref="UsageException"/> for an option no getter declared.</summary>
    public void RejectUndeclared()
    {
        var unknown = given.Keys.FirstOrDefault(name => declared.All(o => o.Name != name));
        if (unknown is not null)
            throw new UsageException(
                $"--{unknown} is not an option of {command}; its options are " +
                string.Join(", ", declared.Select(o => "--" + o.Name)));
    }

    /// <summary>Records the option and returns its text, or null when absent (or under --help or --version).</summary>
    string? Declare(string name, string usage, string help)
    {
        Record(name, usage, help);
        if (Declaring || !given.TryGetValue(name, out var text)) return null;
        return text ?? throw new UsageException($"--{name}: missing value");
    }

    void Record(string name, string usage, string help)
    {
        if (name is "help" or "version" || declared.Any(o => o.Name == name))
            throw new InvalidOperationException($"{command} declares --{name} twice");
        declared.Add((name, usage, help));
    }

    static int ParseInt(string name, string text, int min, int max)
    {
        if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
            throw new UsageException($"--{name}: '{text}' is not a whole number");
        return InRange(name, value, min, max);
    }

    static double ParseNumber(string name, string text)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
            throw new UsageException($"--{name}: '{text}' is not a number");
        // double.Parse rounds what underflows to 0 without a word: 1e-400 would silently be no learning rate at all.
        if (value == 0 && text.Split('e', 'E')[0].Any(c => c is >= '1' and <= '9'))
            throw new UsageException($"--{name}: '{text}' is too small to represent; it would be taken as 0");
        return value;
    }

    static string Defaults<T>(string defaultText, T min, T max, T noMin, T noMax) where T : IEquatable<T>
    {
        var text = $" (default: {defaultText}";
        if (!min.Equals(noMin)) text += string.Create(CultureInfo.InvariantCulture, $", at least {min}");
        if (!max.Equals(noMax)) text += string.Create(CultureInfo.InvariantCulture, $", at most {max}");
        return text + ")";
    }

    static T InRange<T>(string name, T value, T min, T max) where T : IComparable<T>, IFormattable
    {
        if (value.CompareTo(min) < 0)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--{name}: {value} is less than the minimum {min}"));
        if (value.CompareTo(max) > 0)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"--{name}: {value} is more than the maximum {max}"));
        return value;
    }
}

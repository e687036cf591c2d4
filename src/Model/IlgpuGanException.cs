namespace IlgpuGan.Model;

/// <summary>
/// What the library throws for a failure that is no bug of its caller's code nor of its own: a file it cannot read,
/// settings it cannot train with, a run that diverged. One type to catch for all of them.
/// </summary>
public abstract class IlgpuGanException(string message) : Exception(message);

/// <summary>
/// Settings that cannot be obeyed, as <see cref="ArgumentException"/> is for an argument: <see cref="Setting"/> names
/// the knob at fault as the command line spells it (out, batch-size, real-target), when the fault is one knob's.
/// </summary>
public sealed class InvalidSettingsException(string? setting, string problem)
    : IlgpuGanException(setting is null ? problem : $"{setting}: {problem}")
{
    /// <summary>The knob at fault as the command line spells it, or null when no one knob is.</summary>
    public string? Setting { get; } = setting;
    /// <summary>What is wrong, as a sentence without the knob's name.</summary>
    public string Problem { get; } = problem;
}

/// <summary>Training stopped because the losses went NaN or infinite.</summary>
public sealed class DivergedException(string message) : IlgpuGanException(message);

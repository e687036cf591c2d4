namespace IlgpuGan.Trainer;

/// <summary>
/// The rule that keeps a command that reads a checkpoint from destroying one: none of its outputs may be named
/// <c>*.ckpt</c> (every file of a run folder's checkpoint set is: checkpoint.ckpt, checkpoints/epoch_NNN.ckpt,
/// checkpoints/best.ckpt), nor be the checkpoint it reads, links followed, whatever its name.
/// </summary>
public static class OutputPath
{
    public const string CheckpointExtension = ".ckpt";

    /// <summary>Throws <see cref="UsageException"/> when <paramref name="output"/>, given as --<paramref name="option"/>, breaks the rule.</summary>
    public static void Check(string option, string? output, string checkpoint)
    {
        if (output is null) return;
        if (output.EndsWith(CheckpointExtension, StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"--{option}: {output} is named as a checkpoint; this command writes none, and overwrites none");
        if (Resolved(output) == Resolved(checkpoint))
            throw new UsageException($"--{option}: {output} is the checkpoint being read");
    }

    static string Resolved(string path)
    {
        var file = new FileInfo(path);
        return (file.LinkTarget is null ? file : file.ResolveLinkTarget(returnFinalTarget: true) ?? file).FullName;
    }
}

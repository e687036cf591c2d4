namespace IlgpuGan.Model;

/// <summary>
/// Every file the program writes goes through here, so that neither a reader nor a crash ever sees half of one:
/// the contents go to a temporary file in the target's folder (one file system, so the rename is atomic), are
/// flushed to disk, and the file is renamed over the target. On any failure the temporary file is removed and
/// the target is left as it was. A process killed mid-write leaves its temporary file behind; <see cref="IsTemporary"/>
/// tells such a file from the program's others, so that whoever owns the folder can remove it.
/// </summary>
public static class AtomicFile
{
    /// <summary>
    /// Writes the file; with <paramref name="replace"/> false, throws <see cref="IOException"/> instead when the target
    /// exists, so that of two processes creating it, exactly one succeeds.
    /// </summary>
    public static void Write(string path, Action<Stream> write, bool replace = true)
    {
        var target = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Environment.ProcessId}{TemporarySuffix}");
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: replace);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    const string TemporarySuffix = ".tmp";

    /// <summary>Whether a file name is that of a temporary file written by process <paramref name="processId"/>.</summary>
    public static bool IsTemporary(string fileName, out int processId)
    {
        processId = 0;
        if (!fileName.StartsWith('.') || !fileName.EndsWith(TemporarySuffix, StringComparison.Ordinal)) return false;
        var stem = fileName[..^TemporarySuffix.Length];
        int dot = stem.LastIndexOf('.');
        return dot > 1 && int.TryParse(stem[(dot + 1)..], System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out processId);
    }

    public static void WriteAllBytes(string path, ReadOnlyMemory<byte> bytes) => Write(path, file => file.Write(bytes.Span));

    public static void WriteAllText(string path, string text, bool replace = true) =>
        Write(path, file =>
        {
            using var writer = new StreamWriter(file, leaveOpen: true);
            writer.Write(text);
        }, replace);
}

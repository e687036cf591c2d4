using System.Security.Cryptography;

namespace IlgpuGan.Model.IO;

/// <summary>
/// Every file the program writes goes through here, so that neither a reader nor a crash ever sees half of one:
/// the contents go to a temporary file in the target's folder (one file system, so the rename is atomic), are
/// flushed to disk, and the file is renamed over the target. On any failure the temporary file is removed and
/// the target is left as it was. The temporary file's name holds a random part and it is created exclusively
/// (O_CREAT | O_EXCL, which also refuses a symbolic link planted at that name), so nothing planted in the folder
/// is written through; the rename replaces a link at the target rather than writing where it points. A process
/// killed mid-write leaves its temporary file behind; <see cref="IsTemporary"/> tells such a file from the
/// program's others, so that whoever owns the folder can remove it.
/// </summary>
internal static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var target = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder,
            $".{Path.GetFileName(target)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.{Environment.ProcessId}{TemporarySuffix}");
        // Created before the try: a name that exists already is someone else's file, not ours to delete.
        var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        try
        {
            using (file)
            {
                write(file);
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, target, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    const string TemporarySuffix = ".tmp";

    /// <summary>Whether a file name is that of a temporary file written by process <paramref name="processId"/>: .NAME.RANDOM.PID.tmp.</summary>
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

    public static void WriteAllText(string path, string text) =>
        Write(path, file =>
        {
            using var writer = new StreamWriter(file, leaveOpen: true);
            writer.Write(text);
        });
}

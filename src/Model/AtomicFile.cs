namespace IlgpuGan.Model;

/// <summary>
/// Every file the program writes goes through here, so that neither a reader nor a crash ever sees half of one:
/// the contents go to a temporary file in the target's folder (one file system, so the rename is atomic), are
/// flushed to disk, and the file is renamed over the target. On any failure the temporary file is removed and
/// the target is left as it was.
/// </summary>
public static class AtomicFile
{
    public static void Write(string path, Action<Stream> write)
    {
        var target = Path.GetFullPath(path);
        var folder = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(folder);
        var temporary = Path.Combine(folder, $".{Path.GetFileName(target)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
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

    public static void WriteAllBytes(string path, ReadOnlyMemory<byte> bytes) => Write(path, file => file.Write(bytes.Span));

    public static void WriteAllText(string path, string text) =>
        Write(path, file =>
        {
            using var writer = new StreamWriter(file, leaveOpen: true);
            writer.Write(text);
        });
}

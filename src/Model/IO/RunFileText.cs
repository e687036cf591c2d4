using System.Text;
using IlgpuGan.Model;

namespace IlgpuGan.Model.IO;

/// <summary>
/// The run folder's text files (config.json, metrics.csv, eval_ceiling.json) read as files anyone may have edited:
/// a FIFO or a device is never opened (<see cref="RegularFile"/>: both read as an empty file), a file longer
/// than its kind may legally be is refused before it is read, and the read stops at that bound however the file
/// grows meanwhile.
/// </summary>
internal static class RunFileText
{
    /// <summary>
    /// The file's text, "" for an empty one, null when there is none; <paramref name="kind"/> names what it should be,
    /// with its article. Throws <see cref="DataFormatException"/> past <paramref name="maxBytes"/>.
    /// </summary>
    public static string? Read(string path, long maxBytes, string kind)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) return null;
        long length = RegularFile.Length(path, minimum: 0, kind);
        if (length == 0) return "";
        if (length > maxBytes)
            throw new DataFormatException(path, $"{length} bytes, more than such a file can hold ({maxBytes} at most)");
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[length];
        int read = file.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        return Encoding.UTF8.GetString(bytes, 0, read);
    }
}

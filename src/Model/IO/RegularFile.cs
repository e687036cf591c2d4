namespace IlgpuGan.Model.IO;

/// <summary>
/// What every reader checks before it opens a file: that it is a regular file at least as long as its format's
/// least. Opening a FIFO blocks until something writes to it, and a device such as /dev/zero never ends; .NET
/// reports neither kind, but both have a length of 0, so the length check refuses them before any open.
/// </summary>
internal static class RegularFile
{
    /// <summary>
    /// The file's length, links followed; throws <see cref="IOException"/> naming the file and the problem.
    /// <paramref name="kind"/> names what the file should be, with its article: "an IDX file".
    /// </summary>
    public static long Length(string path, long minimum, string kind)
    {
        if (Directory.Exists(path)) throw new IOException($"{path}: a folder where {kind} should be");
        FileSystemInfo info = new FileInfo(path);
        if (info.LinkTarget is not null) info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        if (!info.Exists || info is not FileInfo file) throw new FileNotFoundException($"{path}: file not found", path);
        if (file.Length < minimum)
            throw new IOException(file.Length == 0
                ? $"{path}: empty, or not a regular file (a FIFO or a device); {kind} is a regular file"
                : $"{path}: {file.Length} bytes, too short for {kind} ({minimum} bytes at least)");
        return file.Length;
    }
}

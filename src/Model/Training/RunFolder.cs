using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace IlgpuGan.Model.Training;

/// <summary>
/// A run folder and the files a run keeps in it. One trainer writes to it at a time: from <see cref="Open"/> to
/// Dispose it holds an exclusive OS lock on <see cref="LockFile"/> (flock on Unix), which the system releases when
/// the process ends however it ends, and the file holds that trainer's process id. A run's outputs may run ahead of
/// its checkpoint until the next one is written; a resume cuts them back to it (<see cref="CutBackTo"/>), so
/// nothing repeats. The lock file, samples/ and checkpoints/ must not be links, so that nothing outside the folder
/// is written or deleted.
/// </summary>
public sealed class RunFolder : IDisposable
{
    /// <summary>The run's latest checkpoint, which --resume continues.</summary>
    public const string CheckpointFile = "checkpoint.ckpt";
    /// <summary>The file held locked while a run trains in the folder.</summary>
    public const string LockFile = "train.lock";
    /// <summary>Where --keep-every's snapshots and --eval-every's best checkpoint go.</summary>
    public const string SnapshotFolder = "checkpoints", BestCheckpointFile = "best.ckpt";

    /// <summary>The checkpoint a command was pointed at: a checkpoint file, or a run folder's <see cref="CheckpointFile"/>.</summary>
    public static string CheckpointOf(string checkpointOrRunFolder) =>
        Directory.Exists(checkpointOrRunFolder) ? System.IO.Path.Combine(checkpointOrRunFolder, CheckpointFile) : checkpointOrRunFolder;

    /// <summary>The run folder.</summary>
    public string Path { get; }
    /// <summary>The run's latest checkpoint.</summary>
    public string Checkpoint => File(CheckpointFile);
    /// <summary>metrics.csv: a row per epoch.</summary>
    public string Metrics => File("metrics.csv");
    /// <summary>config.json: the run's settings and model, by name.</summary>
    public string Config => File("config.json");
    /// <summary>report.html.</summary>
    public string Report => File(RunReport.FileName);
    /// <summary>The real images' measures, the ceiling of the report's quality plots.</summary>
    public string EvalCeiling => File(RunReport.CeilingFile);
    /// <summary>progress.gif: the sample grids in epoch order.</summary>
    public string ProgressGif => File("progress.gif");
    /// <summary>The folder of the sample grids.</summary>
    public string Samples => File("samples");
    /// <summary>The folder of kept snapshots and the best checkpoint.</summary>
    public string Snapshots => File(SnapshotFolder);
    /// <summary>The checkpoint of the lowest Fréchet distance so far.</summary>
    public string BestCheckpoint => System.IO.Path.Combine(Snapshots, BestCheckpointFile);
    /// <summary>The files of the epoch <paramref name="number"/>, as <see cref="MetricsLog.Number"/> gives it.</summary>
    public string Snapshot(long number) => System.IO.Path.Combine(Snapshots, $"epoch_{number:000}.ckpt");
    /// <summary>The sample grid of the epoch <paramref name="number"/>, as <see cref="MetricsLog.Number"/> gives it.</summary>
    public string Grid(long number) => System.IO.Path.Combine(Samples, $"epoch_{number:000}.png");

    /// <summary>Whether the folder holds a run that a new one would destroy.</summary>
    public bool HoldsRun => System.IO.File.Exists(Checkpoint) || System.IO.File.Exists(Metrics);

    /// <summary>The open lock file: its exclusive lock is this trainer's for as long as it is open.</summary>
    readonly FileStream held;

    RunFolder(string path, FileStream held)
    {
        Path = path;
        this.held = held;
    }

    /// <summary>
    /// Creates the folder if need be and takes its lock: refused while another trainer holds it, taken over with a
    /// note from one that ended without releasing it. Then removes the temporary files a killed writer left.
    /// </summary>
    public static RunFolder Open(string path, TextWriter output)
    {
        if (System.IO.File.Exists(path)) throw new InvalidSettingsException("out", $"{path} is a file; a run folder is a folder");
        Directory.CreateDirectory(path);
        foreach (var name in new[] { LockFile, "samples", SnapshotFolder })
            if (new FileInfo(System.IO.Path.Combine(path, name)).LinkTarget is { } target)
                throw new IOException($"{System.IO.Path.Combine(path, name)}: a link to {target}; a run folder's {name} must be " +
                    "its own, so that nothing outside the folder is written or deleted");
        var folder = new RunFolder(path, TakeLock(System.IO.Path.Combine(path, LockFile), path, output));
        try
        {
            Directory.CreateDirectory(folder.Samples);
            foreach (var directory in new[] { folder.Path, folder.Samples, folder.Snapshots }.Where(Directory.Exists))
                foreach (var orphan in Directory.EnumerateFiles(directory).Where(f => IsOrphan(System.IO.Path.GetFileName(f))).ToList())
                {
                    System.IO.File.Delete(orphan);
                    output.WriteLine($"removed {orphan}, left by a writer that was stopped");
                }
        }
        catch
        {
            folder.Dispose();
            throw;
        }
        return folder;
    }

    /// <summary>Removes the run's files (not the folder, nor anything else in it), for --overwrite.</summary>
    public void Clear()
    {
        foreach (var file in new[] { Checkpoint, Metrics, Config, Report, EvalCeiling, ProgressGif }) System.IO.File.Delete(file);
        foreach (var grid in Directory.EnumerateFiles(Samples, "epoch_*.png").ToList()) System.IO.File.Delete(grid);
        if (Directory.Exists(Snapshots)) Directory.Delete(Snapshots, recursive: true);
    }

    /// <summary>
    /// Drops what was written after the checkpoint of <paramref name="step"/>: metrics rows of later steps, and grids
    /// of later epochs, kept snapshots of later epochs and a best checkpoint of a later step; progress.gif and
    /// report.html are drawn again from what is left.
    /// </summary>
    public void CutBackTo(long step, int stepsPerEpoch, int classes)
    {
        var metrics = new MetricsLog(Metrics, classes);
        metrics.CutBackTo(step);
        long lastEpoch = metrics.Number(step == 0 ? -1 : (step - 1) / stepsPerEpoch);
        if (Directory.Exists(Snapshots))
        {
            LaterEpochs(Snapshots, "epoch_*.ckpt", lastEpoch).ForEach(System.IO.File.Delete);
            // A best checkpoint from past the resumed step is of a run that no longer happened.
            if (System.IO.File.Exists(BestCheckpoint) && Model.IO.Checkpoint.Read(BestCheckpoint).Header.Step > step)
                System.IO.File.Delete(BestCheckpoint);
        }
        var laterGrids = LaterEpochs(Samples, "epoch_*.png", lastEpoch);
        laterGrids.ForEach(System.IO.File.Delete);
        if (laterGrids.Count > 0) SampleGrid.SaveProgressGif(Samples, ProgressGif);
        if (System.IO.File.Exists(Metrics)) RunReport.Write(Path);
    }

    /// <summary>The files epoch_NNN.* of a folder whose epoch is after <paramref name="lastEpoch"/>.</summary>
    static List<string> LaterEpochs(string folder, string pattern, long lastEpoch) =>
        Directory.EnumerateFiles(folder, pattern)
            .Where(f => long.TryParse(System.IO.Path.GetFileNameWithoutExtension(f)["epoch_".Length..], NumberStyles.None,
                CultureInfo.InvariantCulture, out var epoch) && epoch > lastEpoch)
            .ToList();

    /// <summary>
    /// Copies the checkpoint to <paramref name="path"/> (a snapshot or the best checkpoint) unless that file already
    /// holds the checkpoint's step: what a kill between the checkpoint and its copy left undone. Returns whether it copied.
    /// </summary>
    public bool CopyCheckpointTo(string path, long step)
    {
        if (System.IO.File.Exists(path))
        {
            try
            {
                if (Model.IO.Checkpoint.Read(path).Header.Step == step) return false;
            }
            catch (Exception e) when (e is CheckpointException or IOException) { }
        }
        AtomicFile.Write(path, file =>
        {
            using var checkpoint = new FileStream(Checkpoint, FileMode.Open, FileAccess.Read);
            checkpoint.CopyTo(file);
        });
        return true;
    }

    /// <summary>Empties the lock file, so that the next trainer finds no process to take over from, and releases the lock.</summary>
    public void Dispose()
    {
        try
        {
            held.SetLength(0);
            held.Flush(flushToDisk: true);
        }
        catch (IOException) { }
        held.Dispose();
    }

    /// <summary>
    /// The lock, held open with FileShare.None: .NET takes an exclusive flock on Unix (a sharing lock on Windows), so
    /// of two trainers opening it at once exactly one gets it. The file is never deleted: a trainer that opened it
    /// just before a deletion would lock a file that the next trainer no longer sees.
    /// </summary>
    static FileStream TakeLock(string path, string runFolder, TextWriter output)
    {
        FileStream held;
        try { held = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException e) when (e.HResult is SharingViolation or LinuxWouldBlock or MacWouldBlock)
        {
            throw new IOException($"{runFolder}: another trainer is writing this run folder (it holds {path})");
        }
        try
        {
            if (!held.CanSeek) throw new IOException($"{path}: not a regular file (a FIFO or a device), where the run folder's lock should be");
            var bytes = new byte[32];
            int read = held.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            // A process id left in the file is that of a trainer that ended without releasing the lock.
            if (read > 0)
            {
                var holder = int.TryParse(Encoding.ASCII.GetString(bytes, 0, read).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                    ? pid.ToString(CultureInfo.InvariantCulture) : "(unreadable)";
                output.WriteLine($"{path}: taking over the lock of process {holder}, which is no longer running");
            }
            held.SetLength(0);
            held.Write(Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)));
            held.Flush(flushToDisk: true);
            return held;
        }
        catch
        {
            held.Dispose();
            throw;
        }
    }

    /// <summary>
    /// How .NET reports a file another process holds locked: ERROR_SHARING_VIOLATION on Windows, flock's errno
    /// EWOULDBLOCK on Linux and macOS.
    /// </summary>
    const int SharingViolation = unchecked((int)0x80070020), LinuxWouldBlock = 11, MacWouldBlock = 35;

    /// <summary>A temporary file whose writer is no longer running: under the lock, nothing else writes here.</summary>
    static bool IsOrphan(string fileName) => AtomicFile.IsTemporary(fileName, out var pid) && !IsRunningElsewhere(pid);

    /// <summary>
    /// Whether another live process has this id. This process's own id in a file it did not write is a stale
    /// one reused, as when a container restarts its program as process 1 again.
    /// </summary>
    static bool IsRunningElsewhere(int processId)
    {
        if (processId == Environment.ProcessId) return false;
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException) { return false; }
    }

    string File(string name) => System.IO.Path.Combine(Path, name);
}

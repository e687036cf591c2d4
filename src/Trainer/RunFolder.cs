using System.Diagnostics;
using System.Globalization;
using IlgpuGan.Model;
using IlgpuGan.Trainer.Report;

namespace IlgpuGan.Trainer;

/// <summary>
/// A run folder and the files a run keeps in it. One trainer writes to it at a time: <see cref="LockFile"/> holds
/// that trainer's process id from <see cref="Open"/> to Dispose. A run's outputs may run ahead of its checkpoint
/// until the next one is written; a resume cuts them back to it (<see cref="CutBackTo"/>), so nothing repeats.
/// </summary>
public sealed class RunFolder : IDisposable
{
    public const string CheckpointFile = "checkpoint.ckpt";
    public const string LockFile = "train.lock";
    /// <summary>Where --keep-every's snapshots and --eval-every's best checkpoint go.</summary>
    public const string SnapshotFolder = "checkpoints", BestCheckpointFile = "best.ckpt";

    /// <summary>The checkpoint a command was pointed at: a checkpoint file, or a run folder's <see cref="CheckpointFile"/>.</summary>
    public static string CheckpointOf(string checkpointOrRunFolder) =>
        Directory.Exists(checkpointOrRunFolder) ? System.IO.Path.Combine(checkpointOrRunFolder, CheckpointFile) : checkpointOrRunFolder;

    public string Path { get; }
    public string Checkpoint => File(CheckpointFile);
    public string Metrics => File("metrics.csv");
    public string Config => File("config.json");
    public string Report => File(RunReport.FileName);
    public string EvalCeiling => File(RunReport.CeilingFile);
    public string ProgressGif => File("progress.gif");
    public string Samples => File("samples");
    public string Snapshots => File(SnapshotFolder);
    public string BestCheckpoint => System.IO.Path.Combine(Snapshots, BestCheckpointFile);
    public string Snapshot(long epoch) => System.IO.Path.Combine(Snapshots, $"epoch_{epoch:000}.ckpt");
    string Lock => File(LockFile);

    /// <summary>Whether the folder holds a run that a new one would destroy.</summary>
    public bool HoldsRun => System.IO.File.Exists(Checkpoint) || System.IO.File.Exists(Metrics);

    RunFolder(string path) => Path = path;

    /// <summary>
    /// Creates the folder if need be and takes its lock: refused while another live process holds it, taken over
    /// with a note when its process is gone. Then removes the temporary files a killed writer left.
    /// </summary>
    public static RunFolder Open(string path, TextWriter output)
    {
        if (System.IO.File.Exists(path)) throw new UsageException($"--out: {path} is a file; a run folder is a folder");
        var folder = new RunFolder(path);
        Directory.CreateDirectory(folder.Samples);
        folder.TakeLock(output);
        foreach (var directory in new[] { folder.Path, folder.Samples })
            foreach (var orphan in Directory.EnumerateFiles(directory).Where(f => IsOrphan(System.IO.Path.GetFileName(f))).ToList())
            {
                System.IO.File.Delete(orphan);
                output.WriteLine($"removed {orphan}, left by a writer that was stopped");
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
    public void CutBackTo(long step, int stepsPerEpoch)
    {
        new MetricsLog(Metrics).CutBackTo(step);
        long lastEpoch = step == 0 ? -1 : (step - 1) / stepsPerEpoch;
        if (Directory.Exists(Snapshots))
        {
            LaterEpochs(Snapshots, "epoch_*.ckpt", lastEpoch).ForEach(System.IO.File.Delete);
            // A best checkpoint from past the resumed step is of a run that no longer happened.
            if (System.IO.File.Exists(BestCheckpoint) && Model.Checkpoint.Read(BestCheckpoint).Header.Step > step)
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

    public void Dispose()
    {
        // Removed only while it is still ours: a trainer that took over a lock it wrongly judged stale keeps it.
        if (System.IO.File.Exists(Lock) && ReadLock() == Environment.ProcessId) System.IO.File.Delete(Lock);
    }

    void TakeLock(TextWriter output)
    {
        try
        {
            AtomicFile.WriteAllText(Lock, Environment.ProcessId.ToString(CultureInfo.InvariantCulture), replace: false);
        }
        catch (IOException) when (System.IO.File.Exists(Lock))
        {
            var holder = ReadLock();
            if (holder is { } pid && IsRunningElsewhere(pid))
                throw new IOException($"{Path}: another trainer, process {pid}, is writing this run folder ({Lock} is its lock)");
            output.WriteLine($"{Lock}: taking over the lock of process {holder?.ToString(CultureInfo.InvariantCulture) ?? "(unreadable)"}, which is no longer running");
            AtomicFile.WriteAllText(Lock, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        }
    }

    int? ReadLock()
    {
        try
        {
            return int.TryParse(System.IO.File.ReadAllText(Lock).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                ? pid : null;
        }
        catch (IOException) { return null; }
    }

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

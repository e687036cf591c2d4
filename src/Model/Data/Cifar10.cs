namespace IlgpuGan.Model.Data;

/// <summary>
/// CIFAR-10's binary version, the folder cifar-10-batches-bin as its archive unpacks: data_batch_1.bin …
/// data_batch_5.bin and test_batch.bin, each a run of records of one label byte (0–9) then 3,072 bytes: the
/// 32×32 red plane, then green, then blue, each row-major, which is already our C×H×W.
/// </summary>
public static class Cifar10
{
    /// <summary>CIFAR-10's images: 3×32×32, planes R, G, B.</summary>
    public static ImageShape Shape { get; } = new(3, 32, 32);
    const int RecordBytes = 1 + 3 * 32 * 32;

    /// <summary>The five training batches, in the order their records are read.</summary>
    public static IReadOnlyList<string> TrainFiles { get; } = [.. Enumerable.Range(1, 5).Select(n => $"data_batch_{n}.bin")];
    /// <summary>The test batch, read when present.</summary>
    public const string TestFile = "test_batch.bin";

    /// <summary>batches.meta.txt's names, by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>Whether the folder looks like CIFAR-10's: it has the first training batch.</summary>
    public static bool IsIn(string folder) => Path.Exists(Path.Combine(folder, TrainFiles[0]));

    /// <summary>The five training batches as one split, and the test batch when present.</summary>
    public static (ImageSplit Train, ImageSplit? Test) Read(string folder)
    {
        var missing = TrainFiles.Where(name => !Path.Exists(Path.Combine(folder, name))).ToList();
        if (missing.Count > 0)
            throw new DataFormatException(folder, $"CIFAR-10's training batches lack {string.Join(", ", missing)}");
        var test = Path.Combine(folder, TestFile);
        return (ReadSplit(TrainFiles.Select(name => Path.Combine(folder, name)).ToList()),
            Path.Exists(test) ? ReadSplit([test]) : null);
    }

    static ImageSplit ReadSplit(IReadOnlyList<string> paths)
    {
        var lengths = paths.Select(path => (Path: path, Length: RegularFile.Length(path, RecordBytes, "a CIFAR-10 batch file"))).ToList();
        foreach (var (path, length) in lengths)
            if (length % RecordBytes != 0)
                throw new DataFormatException(path, $"{length} bytes are not whole records of {RecordBytes} bytes (a label, then 1,024 bytes each of R, G and B)");
        long records = lengths.Sum(file => file.Length / RecordBytes);
        int pixels = Shape.Pixels;
        if (records * pixels > Array.MaxLength)
            throw new DataFormatException(paths[0], $"{records} images in {string.Join(", ", paths)}, more than one array holds");

        var images = new byte[records * pixels];
        var labels = new byte[records];
        var record = new byte[RecordBytes];
        int index = 0;
        foreach (var (path, length) in lengths)
        {
            using var file = File.OpenRead(path);
            for (long r = 0; r < length / RecordBytes; r++, index++)
            {
                int read = file.ReadAtLeast(record, RecordBytes, throwOnEndOfStream: false);
                if (read < RecordBytes)
                    throw new DataFormatException(path, $"truncated while read: record {r} has {read} of its {RecordBytes} bytes");
                if (record[0] >= ClassNames.Count)
                    throw new DataFormatException(path, $"record {r} has label {record[0]}, outside 0..{ClassNames.Count - 1}");
                labels[index] = record[0];
                record.AsSpan(1).CopyTo(images.AsSpan(index * pixels));
            }
            if (file.ReadByte() >= 0) throw new DataFormatException(path, $"grew while read: longer than its {length} bytes");
        }
        return new ImageSplit(images, labels, (int)records);
    }
}

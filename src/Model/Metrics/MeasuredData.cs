namespace IlgpuGan.Model.Metrics;

/// <summary>
/// The data samples are measured against, as the measures take it: the training split, whose labels are
/// optional (data without them gets the measures that need none), the test split, and the images' shape.
/// </summary>
public sealed class MeasuredData
{
    public MeasuredData(string name, int channels, int height, int width, int classes,
        byte[] trainImages, byte[]? trainLabels, byte[] testImages, byte[]? testLabels)
    {
        (Name, Channels, Height, Width, Classes) = (name, channels, height, width, classes);
        (TrainImages, TrainLabels, TestImages, TestLabels) = (trainImages, trainLabels, testImages, testLabels);
        if (trainImages.Length % Pixels != 0 || testImages.Length % Pixels != 0)
            throw new ArgumentException($"{name}: the splits are not whole images of {channels}×{height}×{width}");
        fingerprint = trainLabels is null ? null : new(() => DatasetFingerprint.Of(name, channels, height, width, classes, trainImages, trainLabels));
    }

    /// <summary>The data set in <paramref name="folder"/>, in any format <see cref="ImageDataset.Open"/> reads.</summary>
    public static MeasuredData Load(string folder, ImageFolderOptions? options = null, TextWriter? log = null) =>
        Of(ImageDataset.Open(folder, options, log), log);

    /// <summary>
    /// A data set already read. One without a test split (a folder of pictures) is measured against its last sixth,
    /// which the training also saw: said on <paramref name="log"/>, since such figures flatter the samples.
    /// </summary>
    public static MeasuredData Of(ImageDataset data, TextWriter? log = null)
    {
        var (shape, train) = (data.Shape, data.Train);
        int classes = data.ClassNames?.Count ?? 0;
        if (data.Test is { } test)
            return new(NameOf(data.Folder), shape.Channels, shape.Height, shape.Width, classes, train.Images, train.Labels, test.Images, test.Labels);
        int held = Math.Max(1, train.Count / 6), kept = train.Count - held;
        log?.WriteLine($"{data.Folder}: no test split; measured against its last {held} training images, which the GAN also trained on");
        return new(NameOf(data.Folder), shape.Channels, shape.Height, shape.Width, classes,
            train.Images[..(kept * shape.Pixels)], train.Labels?[..kept], train.Images[(kept * shape.Pixels)..], train.Labels?[kept..]);
    }

    /// <summary>What people call a data set in a folder: the folder's own name.</summary>
    public static string NameOf(string folder) => Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder)));

    public string Name { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>The number of classes the labels name; 0 for unlabelled data.</summary>
    public int Classes { get; }
    public byte[] TrainImages { get; }
    public byte[]? TrainLabels { get; }
    public byte[] TestImages { get; }
    public byte[]? TestLabels { get; }

    public int Pixels => Channels * Height * Width;
    public int TrainCount => TrainImages.Length / Pixels;
    public int TestCount => TestImages.Length / Pixels;
    public bool Labelled => TrainLabels is not null;

    readonly Lazy<DatasetFingerprint>? fingerprint;

    /// <summary>The training split's fingerprint, hashed once; null for unlabelled data, which no classifier learns.</summary>
    public DatasetFingerprint? Fingerprint => fingerprint?.Value;

    /// <summary>MNIST's own training set, whose figures Goodfellow et al. report.</summary>
    public bool IsMnist => Fingerprint?.SameData(DatasetFingerprint.Mnist) == true;
}

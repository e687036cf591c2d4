namespace IlgpuGan.Model.Metrics;

/// <summary>
/// The data samples are measured against, as the measures take it: the training split, whose labels are
/// optional (data without them gets the measures that need none), the test split, and the images' shape.
/// </summary>
public sealed class MeasuredData
{
    /// <summary>Data to measure against: its name, image shape, classes (0 for none) and both splits, C·H·W bytes an image.</summary>
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

    /// <summary>What people call the data: its folder's name.</summary>
    public string Name { get; }
    /// <summary>The images' channels, 1 or 3.</summary>
    public int Channels { get; }
    /// <summary>The images' height.</summary>
    public int Height { get; }
    /// <summary>The images' width.</summary>
    public int Width { get; }
    /// <summary>The number of classes the labels name; 0 for unlabelled data.</summary>
    public int Classes { get; }
    /// <summary>The training images, C·H·W bytes each.</summary>
    public byte[] TrainImages { get; }
    /// <summary>The training images' classes; null for unlabelled data.</summary>
    public byte[]? TrainLabels { get; }
    /// <summary>The images measured against, C·H·W bytes each.</summary>
    public byte[] TestImages { get; }
    /// <summary>The test images' classes; null for unlabelled data.</summary>
    public byte[]? TestLabels { get; }

    /// <summary>C·H·W of an image.</summary>
    public int Pixels => Channels * Height * Width;
    /// <summary>The training images' count.</summary>
    public int TrainCount => TrainImages.Length / Pixels;
    /// <summary>The test images' count.</summary>
    public int TestCount => TestImages.Length / Pixels;
    /// <summary>Whether the data has classes.</summary>
    public bool Labelled => TrainLabels is not null;

    readonly Lazy<DatasetFingerprint>? fingerprint;

    /// <summary>The training split's fingerprint, hashed once; null for unlabelled data, which no classifier learns.</summary>
    public DatasetFingerprint? Fingerprint => fingerprint?.Value;

    /// <summary>MNIST's own training set, whose figures Goodfellow et al. report.</summary>
    public bool IsMnist => Fingerprint?.SameData(DatasetFingerprint.Mnist) == true;
}

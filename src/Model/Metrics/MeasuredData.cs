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

    /// <summary>A folder of MNIST's format, the one kind of data the program reads today.</summary>
    public static MeasuredData Load(string folder) => Of(folder, MnistDataset.Load(folder));

    /// <summary>The data of an MNIST-format folder already read.</summary>
    public static MeasuredData Of(string folder, MnistDataset mnist) =>
        new(NameOf(folder), 1, MnistDataset.Side, MnistDataset.Side, MnistDataset.Classes,
            mnist.Train.Images, mnist.Train.Labels, mnist.Test.Images, mnist.Test.Labels);

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

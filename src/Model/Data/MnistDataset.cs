namespace IlgpuGan.Model.Data;

/// <summary>One split of MNIST: Count images of 28×28 bytes (row-major, image after image) and their labels.</summary>
public sealed record MnistSplit(byte[] Images, byte[] Labels)
{
    /// <summary>The number of images.</summary>
    public int Count => Labels.Length;
}

/// <summary>
/// MNIST, or anything in its layout (Fashion-MNIST): a folder with the four IDX files under their original
/// names, each raw or gzipped with a .gz suffix.
/// </summary>
public sealed class MnistDataset
{
    /// <summary>An image's side in pixels.</summary>
    public const int Side = 28;
    /// <summary>The pixels of an image.</summary>
    public const int PixelsPerImage = Side * Side;
    /// <summary>The number of classes (digits).</summary>
    public const int Classes = Metrics.Classifier.MnistClasses;

    /// <summary>The training images' IDX file name.</summary>
    public const string TrainImagesFile = "train-images-idx3-ubyte";
    /// <summary>The training labels' IDX file name.</summary>
    public const string TrainLabelsFile = "train-labels-idx1-ubyte";
    /// <summary>The test images' IDX file name.</summary>
    public const string TestImagesFile = "t10k-images-idx3-ubyte";
    /// <summary>The test labels' IDX file name.</summary>
    public const string TestLabelsFile = "t10k-labels-idx1-ubyte";
    /// <summary>The four IDX files a data folder holds.</summary>
    public static IReadOnlyList<string> FileNames { get; } = [TrainImagesFile, TrainLabelsFile, TestImagesFile, TestLabelsFile];

    /// <summary>The training split.</summary>
    public MnistSplit Train { get; }
    /// <summary>The test split.</summary>
    public MnistSplit Test { get; }

    MnistDataset(MnistSplit train, MnistSplit test) => (Train, Test) = (train, test);

    /// <summary>
    /// Loads both splits; throws <see cref="FileNotFoundException"/> listing missing files, or
    /// <see cref="DataFormatException"/> for a file that is not MNIST-shaped.
    /// </summary>
    public static MnistDataset Load(string folder)
    {
        var missing = MissingFiles(folder);
        if (missing.Count > 0)
            throw new FileNotFoundException(
                $"{folder}: no {string.Join(", ", missing)} (neither raw nor .gz)", Path.Combine(folder, missing[0]));
        return new MnistDataset(
            LoadSplit(FindFile(folder, TrainImagesFile)!, FindFile(folder, TrainLabelsFile)!),
            LoadSplit(FindFile(folder, TestImagesFile)!, FindFile(folder, TestLabelsFile)!));
    }

    /// <summary>
    /// The path of a file of the set in folder, raw preferred over .gz; null when neither exists. A folder of the
    /// name counts, so that the reader reports it as the folder it is rather than as missing.
    /// </summary>
    public static string? FindFile(string folder, string name)
    {
        var raw = Path.Combine(folder, name);
        if (Path.Exists(raw)) return raw;
        return Path.Exists(raw + ".gz") ? raw + ".gz" : null;
    }

    /// <summary>The names of <see cref="FileNames"/> present in folder neither raw nor gzipped.</summary>
    public static IReadOnlyList<string> MissingFiles(string folder) =>
        FileNames.Where(name => FindFile(folder, name) is null).ToList();

    /// <summary>
    /// A pixel as the reference feeds it to the discriminator: torchvision's ToTensor then Normalize(0.5, 0.5),
    /// i.e. (b/255 − 0.5)/0.5, in float32 and in that order so the inputs match PyTorch's bit for bit.
    /// </summary>
    public static float PixelToFloat(byte pixel) => (pixel / 255f - 0.5f) / 0.5f;

    /// <summary><see cref="PixelToFloat"/> over a span; destination must be as long as pixels.</summary>
    public static void PixelsToFloats(ReadOnlySpan<byte> pixels, Span<float> destination)
    {
        if (destination.Length != pixels.Length)
            throw new ArgumentException($"destination holds {destination.Length} floats for {pixels.Length} pixels");
        for (int i = 0; i < pixels.Length; i++) destination[i] = PixelToFloat(pixels[i]);
    }

    /// <summary>
    /// A generator output back to a byte as torchvision's save_image(normalize=True, value_range=(−1, 1)) does:
    /// clamped to [−1, 1], ((v + 1)/2)·255 + 0.5 truncated, i.e. rounded half up. NaN becomes 0 (.NET's
    /// float-to-integer casts saturate and send NaN to 0).
    /// </summary>
    public static byte FloatToPixel(float value) => (byte)((Math.Clamp(value, -1f, 1f) + 1f) * 0.5f * 255f + 0.5f);

    static MnistSplit LoadSplit(string imagesPath, string labelsPath)
    {
        var images = IdxFile.ReadImages(imagesPath);
        if (images.Rows != Side || images.Columns != Side)
            throw new DataFormatException(imagesPath, $"images are {images.Rows}×{images.Columns}, MNIST's are {Side}×{Side}");
        var labels = IdxFile.ReadLabels(labelsPath);
        if (labels.Length != images.Count)
            throw new DataFormatException(labelsPath, $"{labels.Length} labels for the {images.Count} images of {imagesPath}");
        int bad = Array.FindIndex(labels, label => label >= Classes);
        if (bad >= 0)
            throw new DataFormatException(labelsPath, $"label {labels[bad]} at index {bad} is outside 0..{Classes - 1}");
        return new MnistSplit(images.Pixels, labels);
    }
}

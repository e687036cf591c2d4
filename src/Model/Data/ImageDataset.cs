namespace IlgpuGan.Model.Data;

/// <summary>The layouts <see cref="ImageDataset.Open"/> recognises in a folder.</summary>
public enum DataFormat
{
    /// <summary>MNIST's IDX files, of any image size.</summary>
    Idx,
    /// <summary>CIFAR-10's binary batches.</summary>
    Cifar10,
    /// <summary>A folder of pictures, one subfolder per class when labelled.</summary>
    ImageFolder,
}

/// <summary>
/// One split of a data set: <see cref="Count"/> images of the set's shape, C·H·W bytes each (planes R, G, B for
/// colour), image after image; and a class index per image, or null when the set has no labels.
/// </summary>
public sealed record ImageSplit(byte[] Images, byte[]? Labels, int Count);

/// <summary>How a folder of pictures becomes images: resized to Size×Size (null: the first picture's size) and Channels 1 or 3.</summary>
public sealed record ImageFolderOptions(int? Size = null, int Channels = 3);

/// <summary>
/// An image data set read whole from a folder, its format told by what the folder holds (<see cref="Open"/>): the
/// training split, the test split when the format has one, the image shape and the class names when it is labelled.
/// </summary>
public sealed class ImageDataset
{
    /// <summary>The folder the data set was read from.</summary>
    public string Folder { get; }
    /// <summary>The layout recognised in the folder.</summary>
    public DataFormat Format { get; }
    /// <summary>The images' shape, the same for both splits.</summary>
    public ImageShape Shape { get; }
    /// <summary>The training split.</summary>
    public ImageSplit Train { get; }
    /// <summary>The test split; null when the folder has none (an image folder, an IDX set without its t10k files).</summary>
    public ImageSplit? Test { get; }
    /// <summary>The classes by index; null when the set has no labels.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    /// <summary>Whether the images have classes.</summary>
    public bool IsLabelled => ClassNames is not null;

    ImageDataset(string folder, DataFormat format, ImageShape shape, ImageSplit train, ImageSplit? test, IReadOnlyList<string>? classNames)
    {
        (Folder, Format, Shape, Train, Test, ClassNames) = (folder, format, shape, train, test, classNames);
        if (shape.Problem(int.MaxValue) is { } problem) throw new DataFormatException(folder, problem);
    }

    /// <summary>
    /// Reads the data set in <paramref name="folder"/>, recognised by its contents, in this order:
    /// <list type="bullet">
    /// <item>IDX (MNIST's layout, any image size): train-images-idx3-ubyte, raw or .gz; the labels and the t10k test files when present;</item>
    /// <item>CIFAR-10's binary version: data_batch_1.bin … data_batch_5.bin, and test_batch.bin when present;</item>
    /// <item>a folder of PNG, JPEG and BMP pictures, one subfolder per class when it has subfolders (torchvision's
    /// ImageFolder: classes are the sorted subfolder names), converted as <paramref name="options"/> says; a file
    /// that does not decode is skipped with a line on <paramref name="log"/>.</item>
    /// </list>
    /// Throws <see cref="DirectoryNotFoundException"/> for a missing folder, <see cref="DataFormatException"/> naming
    /// the file at fault for anything else.
    /// </summary>
    public static ImageDataset Open(string folder, ImageFolderOptions? options = null, TextWriter? log = null)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder");
        if (MnistDataset.FindFile(folder, MnistDataset.TrainImagesFile) is not null) return OpenIdx(folder);
        if (Cifar10.IsIn(folder))
        {
            var (train, test) = Cifar10.Read(folder);
            return new ImageDataset(folder, DataFormat.Cifar10, Cifar10.Shape, train, test, Cifar10.ClassNames);
        }
        if (ImageFolder.IsIn(folder))
        {
            var (shape, train, classes) = ImageFolder.Read(folder, options ?? new ImageFolderOptions(), log ?? TextWriter.Null);
            return new ImageDataset(folder, DataFormat.ImageFolder, shape, train, null, classes);
        }
        throw new DataFormatException(folder, $"no data set found: no {MnistDataset.TrainImagesFile} (raw or .gz), no CIFAR-10 " +
            $"{Cifar10.TrainFiles[0]}, and no {string.Join(", ", ImageFolder.Extensions)} pictures");
    }

    /// <summary>MNIST's layout of any image size: the training images required, their labels and the test set optional.</summary>
    static ImageDataset OpenIdx(string folder)
    {
        var trainImages = MnistDataset.FindFile(folder, MnistDataset.TrainImagesFile)!;
        var images = IdxFile.ReadImages(trainImages);
        var shape = new ImageShape(1, images.Rows, images.Columns);
        var train = new ImageSplit(images.Pixels, IdxLabels(folder, MnistDataset.TrainLabelsFile, images.Count, trainImages), images.Count);
        ImageSplit? test = null;
        if (MnistDataset.FindFile(folder, MnistDataset.TestImagesFile) is { } testImages)
        {
            var tests = IdxFile.ReadImages(testImages);
            if (tests.Rows != images.Rows || tests.Columns != images.Columns)
                throw new DataFormatException(testImages, $"images are {tests.Rows}×{tests.Columns}, those of {trainImages} {images.Rows}×{images.Columns}");
            test = new ImageSplit(tests.Pixels, IdxLabels(folder, MnistDataset.TestLabelsFile, tests.Count, testImages), tests.Count);
            if ((train.Labels is null) != (test.Labels is null))
                throw new DataFormatException(folder, "one split has labels and the other none");
        }
        var classNames = train.Labels is null ? null
            : Enumerable.Range(0, new[] { train.Labels, test?.Labels }.OfType<byte[]>().SelectMany(l => l).Max() + 1)
                .Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        return new ImageDataset(folder, DataFormat.Idx, shape, train, test, classNames);
    }

    static byte[]? IdxLabels(string folder, string name, int count, string imagesPath)
    {
        if (MnistDataset.FindFile(folder, name) is not { } path) return null;
        var labels = IdxFile.ReadLabels(path);
        return labels.Length == count ? labels
            : throw new DataFormatException(path, $"{labels.Length} labels for the {count} images of {imagesPath}");
    }
}

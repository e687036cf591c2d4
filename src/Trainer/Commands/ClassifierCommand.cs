using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `classifier` was asked to do: the recipe of the committed classifiers by default.</summary>
public sealed record ClassifierOptions
{
    public string DataDir { get; init; } = "data/mnist";
    /// <summary>Null: models/&lt;the data folder's name&gt;-classifier.bin, so MNIST's stays models/mnist-classifier.bin.</summary>
    public string? OutPath { get; init; }
    /// <summary>How a folder of pictures becomes images, as `train` converts them; unused by the other formats.</summary>
    public ImageFolderOptions ImageFolder { get; init; } = new();
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 1e-3;
    public ulong Seed { get; init; }
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;

    public string Out => OutPath ?? DefaultOut(DataDir);

    public static string DefaultOut(string dataDir) => Path.Combine("models", $"{MeasuredData.NameOf(dataDir)}-classifier.bin");
}

/// <summary>
/// `classifier`: trains the classifier that `eval` measures samples of a labelled data set with, by our kernels,
/// reproducibly from its seed (pixels-512-256-classes ReLU, Adam with a cosine-decayed rate, one-hot
/// cross-entropy), and records in the file the data it learned (<see cref="DatasetFingerprint"/>) and its test accuracy.
/// </summary>
public static class ClassifierCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("classifier", "trains the classifier eval measures a labelled data set with (models/mnist-classifier.bin for MNIST) by our kernels",
            Read, options => Run(options, output));

    static ClassifierOptions Read(CommandArgs args)
    {
        var defaults = new ClassifierOptions();
        return new ClassifierOptions
        {
            DataDir = args.Path("data", defaults.DataDir, "folder of a labelled data set (MNIST-format IDX files, CIFAR-10's binary batches, or pictures in one subfolder per class)"),
            ImageFolder = new ImageFolderOptions(
                args.Int("image-size", 0, "side a folder's pictures are resized and centre-cropped to, as train's (0: the first picture's size)", min: 0, max: IlgpuGan.Model.Data.ImageFolder.MaxSide) is var size and > 0 ? size : null,
                args.Int("channels", defaults.ImageFolder.Channels, "channels a folder's pictures are converted to, as train's: 1 (greyscale) or 3 (RGB)", min: 1, max: 3)),
            OutPath = args.Path("out", null, "classifier file to write (default models/<the data folder's name>-classifier.bin)"),
            Epochs = args.Int("epochs", defaults.Epochs, "epochs to train", min: 1),
            BatchSize = args.Int("batch-size", defaults.BatchSize, "images per batch", min: 1, max: 65536),
            Seed = (ulong)args.Int("seed", (int)defaults.Seed, "seed of the initial weights and the shuffles", min: 0),
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
        };
    }

    public static void Run(ClassifierOptions options, TextWriter output)
    {
        var data = MeasuredData.Load(options.DataDir, options.ImageFolder, output);
        if (data.Fingerprint is not { } fingerprint || data.TestLabels is null)
            throw new DataFormatException(options.DataDir, "no labels for both splits: a classifier learns labelled images and is tested on labelled ones");
        if (data.TrainCount < options.BatchSize)
            throw new ArgumentException($"--batch-size: {options.BatchSize} is more than the {data.TrainCount} training images");
        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        output.WriteLine($"data: {fingerprint}");
        var kernels = new KernelSet(device);
        using var classifier = new Classifier(kernels, data.Pixels, Classifier.DefaultWidths, data.Classes,
            Math.Max(options.BatchSize, 1_000));
        Initialization.LikePyTorch(classifier, Initialization.PhiloxUniform(options.Seed), 0);
        using var images = new DeviceDataset(kernels, DeviceImages.ToUnitInterval(data.TrainImages), data.Pixels,
            OneHot(data.TrainLabels!, data.Classes));
        using var training = new ClassifierTraining(classifier, options.BatchSize);
        int steps = images.StepsPerEpoch(options.BatchSize);

        // torch.optim.Adam's defaults; the rate is set per epoch.
        var adam = AdamSettings.Reference with { WeightDecay = 0 };
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            var settings = adam with { LearningRate = ClassifierTraining.CosineLearningRate(options.LearningRate, epoch, options.Epochs) };
            for (int s = 0; s < steps; s++) training.Step(images, (long)epoch * steps + s, options.Seed, settings);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch + 1}: lr {settings.LearningRate:G3} loss {training.TakeLossSum() / steps:F4}"));
        }
        double accuracy = Accuracy(kernels, classifier, data.TestImages, data.TestLabels);
        ClassifierFile.Save(options.Out, classifier, fingerprint, options.Epochs, options.Seed, accuracy);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"test accuracy {100 * accuracy:F2}%; wrote {options.Out}"));
    }

    /// <summary>The share of labelled images whose most probable class is their label.</summary>
    public static double Accuracy(KernelSet kernels, Classifier classifier, byte[] images, byte[] labels)
    {
        var accelerator = kernels.Device.Accelerator;
        int count = labels.Length;
        using var onDevice = new DeviceImages(kernels, images, classifier.In);
        using var features = accelerator.Allocate1D<float>((long)count * classifier.FeatureCount);
        using var probabilities = accelerator.Allocate1D<float>((long)count * classifier.Classes);
        classifier.Predict(onDevice.Pixels, count, features.View, probabilities.View);
        var p = probabilities.GetAsArray1D();
        int correct = 0;
        for (int r = 0; r < count; r++)
            if (ClassifierScore.PredictedClass(p.AsSpan(r * classifier.Classes, classifier.Classes)) == labels[r]) correct++;
        return (double)correct / count;
    }

    static float[] OneHot(byte[] labels, int classes)
    {
        var targets = new float[labels.Length * classes];
        for (int i = 0; i < labels.Length; i++) targets[i * classes + labels[i]] = 1f;
        return targets;
    }
}

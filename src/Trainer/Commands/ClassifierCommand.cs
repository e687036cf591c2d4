using System.Globalization;
using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>What `classifier` was asked to do: the recipe of the committed models/mnist-classifier.bin by default.</summary>
public sealed record ClassifierOptions
{
    public string DataDir { get; init; } = "data/mnist";
    public string OutPath { get; init; } = "models/mnist-classifier.bin";
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 1e-3;
    public ulong Seed { get; init; }
    public AcceleratorKind Accelerator { get; init; } = AcceleratorKind.Auto;
}

/// <summary>
/// `classifier`: trains the MNIST classifier that `eval` measures samples with, by our kernels, reproducibly
/// from its seed (784-512-256-10 ReLU, Adam with a cosine-decayed rate, one-hot cross-entropy), and records its
/// test accuracy in the file.
/// </summary>
public static class ClassifierCommand
{
    public static Command Create(TextWriter output) =>
        Command.Of("classifier", "trains the MNIST classifier eval measures with (models/mnist-classifier.bin) by our kernels",
            Read, options => Run(options, output));

    static ClassifierOptions Read(CommandArgs args)
    {
        var defaults = new ClassifierOptions();
        return new ClassifierOptions
        {
            DataDir = args.Path("data", defaults.DataDir, "folder of the four MNIST-format IDX files"),
            OutPath = args.Path("out", defaults.OutPath, "classifier file to write"),
            Epochs = args.Int("epochs", defaults.Epochs, "epochs to train", min: 1),
            BatchSize = args.Int("batch-size", defaults.BatchSize, "images per batch", min: 1, max: 65536),
            Seed = (ulong)args.Int("seed", (int)defaults.Seed, "seed of the initial weights and the shuffles", min: 0),
            Accelerator = args.Choice("accelerator", defaults.Accelerator, "where the kernels run"),
        };
    }

    public static void Run(ClassifierOptions options, TextWriter output)
    {
        var mnist = MnistDataset.Load(options.DataDir);
        using var device = ComputeDevice.Create(options.Accelerator);
        output.WriteLine($"device: {device.Kind} {device.Name}");
        var kernels = new KernelSet(device);
        using var classifier = new Classifier(kernels, MnistDataset.PixelsPerImage, Classifier.MnistWidths,
            MnistDataset.Classes, Math.Max(options.BatchSize, 1_000));
        Initialization.LikePyTorch(classifier, Initialization.PhiloxUniform(options.Seed), 0);
        using var data = new DeviceDataset(kernels, DeviceImages.ToUnitInterval(mnist.Train.Images), MnistDataset.PixelsPerImage,
            OneHot(mnist.Train.Labels));
        using var training = new ClassifierTraining(classifier, options.BatchSize);
        int steps = data.StepsPerEpoch(options.BatchSize);
        if (steps < 1) throw new ArgumentException($"--batch-size: {options.BatchSize} is more than the {data.Count} training images");

        // torch.optim.Adam's defaults; the rate is set per epoch.
        var adam = AdamSettings.Reference with { WeightDecay = 0 };
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            var settings = adam with { LearningRate = ClassifierTraining.CosineLearningRate(options.LearningRate, epoch, options.Epochs) };
            for (int s = 0; s < steps; s++) training.Step(data, (long)epoch * steps + s, options.Seed, settings);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"epoch {epoch + 1}: lr {settings.LearningRate:G3} loss {training.TakeLossSum() / steps:F4}"));
        }
        double accuracy = Accuracy(kernels, classifier, mnist.Test);
        ClassifierFile.Save(options.OutPath, classifier, options.Epochs, options.Seed, accuracy);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"test accuracy {100 * accuracy:F2}%; wrote {options.OutPath}"));
    }

    /// <summary>The share of a split's digits whose most probable class is their label.</summary>
    public static double Accuracy(KernelSet kernels, Classifier classifier, MnistSplit split)
    {
        var accelerator = kernels.Device.Accelerator;
        using var images = new DeviceImages(kernels, split.Images, classifier.In);
        using var features = accelerator.Allocate1D<float>((long)split.Count * classifier.FeatureCount);
        using var probabilities = accelerator.Allocate1D<float>((long)split.Count * classifier.Classes);
        classifier.Predict(images.Pixels, split.Count, features.View, probabilities.View);
        var p = probabilities.GetAsArray1D();
        int correct = 0;
        for (int r = 0; r < split.Count; r++)
            if (ClassifierScore.PredictedClass(p.AsSpan(r * classifier.Classes, classifier.Classes)) == split.Labels[r]) correct++;
        return (double)correct / split.Count;
    }

    static float[] OneHot(byte[] labels)
    {
        var targets = new float[labels.Length * MnistDataset.Classes];
        for (int i = 0; i < labels.Length; i++) targets[i * MnistDataset.Classes + labels[i]] = 1f;
        return targets;
    }
}

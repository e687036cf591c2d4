using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Metrics;

/// <summary>
/// What `eval` and `train --eval-every` share: the MNIST images each measure uses and the committed classifier.
/// </summary>
public static class Evaluation
{
    /// <summary>The samples a measure draws by default.</summary>
    public const int DefaultCount = 10_000;
    /// <summary>Goodfellow et al.'s parzen_ll.py chooses σ on the first 1,000 digits of train[50000:60000].</summary>
    const int ValidationCount = 1_000, ValidationTail = 10_000;
    const string ClassifierFileName = "mnist-classifier.bin";

    /// <summary>The classifier committed in the repository, copied beside the executable by the build.</summary>
    public static string DefaultClassifierPath => Path.Combine(AppContext.BaseDirectory, "models", ClassifierFileName);

    /// <summary>The first 1,000 of the last 10,000 training digits (train[50000:51000] for MNIST), or all of a smaller set.</summary>
    public static byte[] ValidationImages(MnistSplit train)
    {
        int start = Math.Max(0, train.Count - ValidationTail), count = Math.Min(ValidationCount, train.Count - start);
        return train.Images.AsSpan(start * MnistDataset.PixelsPerImage, count * MnistDataset.PixelsPerImage).ToArray();
    }

    /// <summary>
    /// The real digits the ceiling is measured on: the first <paramref name="count"/> training digits, none
    /// of them a test digit nor, for MNIST, a validation digit.
    /// </summary>
    public static byte[] CeilingImages(MnistSplit train, int count) =>
        train.Images.AsSpan(0, Math.Min(count, train.Count) * MnistDataset.PixelsPerImage).ToArray();

    /// <summary>The classifier file on the device; a missing one is named with how to make it.</summary>
    public static (Classifier Classifier, ClassifierFile.Header Header) LoadClassifier(string path, KernelSet kernels)
    {
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path}: no classifier file; the repository ships models/{ClassifierFileName}, or retrain it with " +
                $"'ilgpugan classifier --data DIR --out {path}'", path);
        // Batches of 1,000 rows: the classifier's buffers stay small whatever the number of images.
        var (classifier, header) = ClassifierFile.Load(path, kernels, maxRows: 1_000);
        if (header.Pixels != MnistDataset.PixelsPerImage)
        {
            classifier.Dispose();
            throw new CheckpointException($"{path}: a classifier of {header.Pixels}-pixel images, MNIST's have {MnistDataset.PixelsPerImage}");
        }
        return (classifier, header);
    }

    /// <summary>The measures against an MNIST folder's test set, σ chosen on its validation digits.</summary>
    public static SampleQuality OpenQuality(KernelSet kernels, Classifier classifier, MnistDataset mnist) =>
        new(kernels, classifier, mnist.Test.Images, ValidationImages(mnist.Train));
}

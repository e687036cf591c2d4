using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Metrics;

/// <summary>
/// What `eval` and `train --eval-every` share: the images each measure uses, the classifier and the rule that it
/// must have learned the data being measured.
/// </summary>
public static class Evaluation
{
    /// <summary>The samples a measure draws by default.</summary>
    public const int DefaultCount = 10_000;
    /// <summary>Goodfellow et al.'s parzen_ll.py chooses σ on the first 1,000 digits of train[50000:60000].</summary>
    const int ValidationCount = 1_000, ValidationTail = 10_000;
    const string ClassifierFileName = "mnist-classifier.bin";

    /// <summary>MNIST's classifier, committed in the repository and copied beside the executable by the build.</summary>
    public static string DefaultClassifierPath => Path.Combine(AppContext.BaseDirectory, "models", ClassifierFileName);

    /// <summary>Goodfellow et al. 2014, Table 1: their Parzen figure, printed beside ours only for MNIST's own data.</summary>
    public static string? PaperComparison(MeasuredData data) =>
        data.IsMnist ? "(Goodfellow et al. 2014, Table 1: adversarial nets 225 ± 2 on MNIST)" : null;

    /// <summary>Why unlabelled data gets Parzen only, in one line.</summary>
    public static string UnlabelledLine(MeasuredData data) =>
        $"{Printable.Escape(data.Name)} has no labels: no classifier can learn it, so the Fréchet distance, the classifier score " +
        "and the class shares, which are measured in a classifier's features and predictions, are not measured";

    /// <summary>The first 1,000 of the last 10,000 training images (train[50000:51000] for MNIST), or all of a smaller set.</summary>
    public static byte[] ValidationImages(MeasuredData data)
    {
        int start = Math.Max(0, data.TrainCount - ValidationTail), count = Math.Min(ValidationCount, data.TrainCount - start);
        return data.TrainImages.AsSpan(start * data.Pixels, count * data.Pixels).ToArray();
    }

    /// <summary>
    /// The real images the ceiling is measured on: the first <paramref name="count"/> training images, none
    /// of them a test image nor, for MNIST, a validation image.
    /// </summary>
    public static byte[] CeilingImages(MeasuredData data, int count) =>
        data.TrainImages.AsSpan(0, Math.Min(count, data.TrainCount) * data.Pixels).ToArray();

    /// <summary>
    /// The classifier file on the device, once its header shows it learned <paramref name="data"/>; a missing one,
    /// or one of other data, is named with how to make the right one. Null for unlabelled data, which no
    /// classifier learns.
    /// </summary>
    public static (Classifier Classifier, ClassifierFile.Header Header)? LoadClassifier(string path, MeasuredData data, KernelSet kernels)
    {
        var file = ReadClassifier(path, data);
        // Batches of 1,000 rows: the classifier's buffers stay small whatever the number of images.
        return file is null ? null : ClassifierFile.ToDevice(file.Value, kernels, maxRows: 1_000);
    }

    /// <summary><see cref="LoadClassifier"/>'s checks, on the host: a refusal comes before any device is opened.</summary>
    public static (ClassifierFile.Header Header, float[] Parameters)? ReadClassifier(string path, MeasuredData data)
    {
        if (data.Fingerprint is not { } measured) return null;
        string makeOne = $"'ilgpugan classifier --data DIR --out FILE' trains one on the data in DIR, for --classifier FILE";
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"{path}: no classifier file; the repository ships models/{ClassifierFileName} for MNIST, and {makeOne}", path);
        var file = ClassifierFile.Read(path);
        var learned = file.Header.Learned;
        if (!learned.SameData(measured))
            throw new CheckpointException(
                $"{path}: a classifier of {learned}, not of the data measured, {measured}; {makeOne}");
        return file;
    }

    /// <summary>The measures against the data's test set, σ chosen on its validation images.</summary>
    public static SampleQuality OpenQuality(KernelSet kernels, Classifier? classifier, MeasuredData data) =>
        new(kernels, classifier, data.Pixels, data.TestImages, ValidationImages(data));
}

using System.Text.Json.Serialization;
using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Metrics;

/// <summary>
/// An MLP classifier of images with pixels in [0, 1]: [Linear → ReLU] per hidden width → Linear to class
/// logits. Trained by our own kernels on a labelled data set (MNIST's is committed), it gives the features (the
/// last hidden layer) and the class probabilities that the Fréchet distance, the classifier score and the class
/// shares are measured in.
/// </summary>
public sealed class Classifier : Network
{
    /// <summary>The hidden widths `classifier` trains: those of the committed MNIST classifier, for any data.</summary>
    public static readonly int[] DefaultWidths = [512, 256];
    /// <summary>MNIST's ten digits (and Fashion-MNIST's ten kinds of item): the classes of MNIST-format data.</summary>
    public const int MnistClasses = 10;

    /// <summary>An MLP of <paramref name="pixels"/> inputs, <paramref name="hiddenWidths"/> and <paramref name="classes"/> outputs, for batches of up to <paramref name="maxRows"/> rows.</summary>
    public Classifier(KernelSet kernels, int pixels, IReadOnlyList<int> hiddenWidths, int classes, int maxRows)
        : this(kernels, new ParameterStore(), pixels, hiddenWidths, classes, maxRows) { }

    Classifier(KernelSet kernels, ParameterStore store, int pixels, IReadOnlyList<int> hiddenWidths, int classes, int maxRows)
        : base(kernels, "classifier", maxRows, store, Build(kernels, store, pixels, hiddenWidths, classes, out var features))
    {
        featureLayer = features;
        HiddenWidths = [.. hiddenWidths];
    }

    readonly ILayer featureLayer;

    /// <summary>The layers, and the one whose output are the features: the last hidden layer's ReLU.</summary>
    static List<ILayer> Build(KernelSet kernels, ParameterStore store, int pixels, IReadOnlyList<int> hiddenWidths, int classes,
        out ILayer features)
    {
        if (hiddenWidths.Count == 0) throw new ArgumentException("a classifier needs a hidden layer for its features", nameof(hiddenWidths));
        var layers = new List<ILayer>();
        int width = pixels;
        for (int i = 0; i < hiddenWidths.Count; i++)
        {
            layers.Add(new Linear(kernels, store, $"fc{i + 1}", width, hiddenWidths[i]));
            // LeakyReLU of slope 0 is ReLU, forward and backward.
            layers.Add(new LeakyRelu(kernels, hiddenWidths[i], 0f));
            width = hiddenWidths[i];
        }
        features = layers[^1];
        layers.Add(new Linear(kernels, store, $"fc{hiddenWidths.Count + 1}", width, classes));
        return layers;
    }

    /// <summary>The widths of the hidden layers.</summary>
    public IReadOnlyList<int> HiddenWidths { get; }
    /// <summary>The number of classes.</summary>
    public int Classes => Out;
    /// <summary>Width of the last hidden layer, whose activations are the features.</summary>
    public int FeatureCount => featureLayer.Out;

    /// <summary>
    /// features [count, FeatureCount] and probabilities [count, Classes] of images [count, In], in chunks of
    /// <see cref="Network.MaxRows"/> rows, all on the device.
    /// </summary>
    public void Predict(ArrayView<float> images, int count, ArrayView<float> features, ArrayView<float> probabilities)
    {
        for (int start = 0; start < count; start += MaxRows)
        {
            int rows = Math.Min(MaxRows, count - start);
            var logits = Forward(images.SubView((long)start * In, (long)rows * In), rows, ForwardMode.Eval);
            LayerOutput(featureLayer, rows).CopyTo(features.SubView((long)start * FeatureCount, (long)rows * FeatureCount));
            Kernels.SoftmaxCrossEntropy.Probabilities(logits, probabilities.SubView((long)start * Classes, (long)rows * Classes),
                rows, Classes);
        }
    }
}

/// <summary>Minibatch training of a <see cref="Classifier"/> by softmax cross-entropy and Adam, all on the device.</summary>
public sealed class ClassifierTraining : IDisposable
{
    readonly Classifier classifier;
    readonly MemoryBuffer1D<float, Stride1D.Dense> batch, targets, dLogits, lossSum;

    /// <summary>Training of <paramref name="classifier"/> in batches of <paramref name="batchSize"/>.</summary>
    public ClassifierTraining(Classifier classifier, int batchSize)
    {
        if (batchSize > classifier.MaxRows)
            throw new ArgumentOutOfRangeException(nameof(batchSize), $"a batch of {batchSize} rows, the classifier holds {classifier.MaxRows}");
        this.classifier = classifier;
        BatchSize = batchSize;
        var accelerator = classifier.Kernels.Device.Accelerator;
        batch = accelerator.Allocate1D<float>((long)batchSize * classifier.In);
        targets = accelerator.Allocate1D<float>((long)batchSize * classifier.Classes);
        dLogits = accelerator.Allocate1D<float>((long)batchSize * classifier.Classes);
        lossSum = accelerator.Allocate1D<float>(1);
        lossSum.MemSetToZero();
    }

    /// <summary>Images per batch.</summary>
    public int BatchSize { get; }

    /// <summary>A cosine decay of the learning rate over the epochs, from <paramref name="initial"/> towards 0.</summary>
    public static float CosineLearningRate(double initial, int epoch, int epochs) =>
        (float)(initial * 0.5 * (1 + Math.Cos(Math.PI * epoch / epochs)));

    /// <summary>Global step <paramref name="step"/>: its shuffled batch of images and one-hot targets, one Adam step.</summary>
    public void Step(DeviceDataset data, long step, ulong seed, AdamSettings adam)
    {
        var kernels = classifier.Kernels;
        data.FillBatch(batch.View, step, BatchSize, seed, targets.View);
        var logits = classifier.Forward(batch.View, BatchSize, ForwardMode.Train);
        kernels.SoftmaxCrossEntropy.LossAndGradient(logits, targets.View, dLogits.View, BatchSize, classifier.Classes,
            lossSum.View, 0);
        classifier.Backward(batch.View, dLogits.View, BatchSize, parameterGradients: true);
        var store = classifier.Store;
        store.AdamStep++;
        kernels.Adam.Step(store.AllParameters, store.AllGradients, store.AllAdamM, store.AllAdamV,
            store.Parameters.Length, store.AdamStep, adam);
    }

    /// <summary>Reads and clears the sum of the batch losses since the last call: one host round trip.</summary>
    public float TakeLossSum()
    {
        float sum = lossSum.GetAsArray1D()[0];
        lossSum.MemSetToZero();
        return sum;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        batch.Dispose();
        targets.Dispose();
        dLogits.Dispose();
        lossSum.Dispose();
    }
}

/// <summary>
/// A trained classifier on disk: its shape, the data it learned, how it was trained, its test accuracy, and its
/// parameters, as a <see cref="TensorFile"/>. The repository keeps MNIST's (models/mnist-classifier.bin) and
/// Fashion-MNIST's, so every machine measures samples in the same features.
/// </summary>
public static class ClassifierFile
{
    const string Magic = "IGGANCL1";
    /// <summary>The format version this code writes and reads.</summary>
    public const int Version = 1;
    const string ParametersTensor = "parameters";

    /// <summary>The file's JSON part.</summary>
    /// <param name="Version">The format version.</param>
    /// <param name="Pixels">Input values per image.</param>
    /// <param name="HiddenWidths">The hidden layers' widths.</param>
    /// <param name="Classes">The number of classes.</param>
    /// <param name="Epochs">The epochs it was trained for.</param>
    /// <param name="Seed">The seed of its training.</param>
    /// <param name="TestAccuracy">Its accuracy on the test split.</param>
    /// <param name="TensorLengths">Each tensor's length.</param>
    /// <param name="Data">The training data's fingerprint; absent from files written before there was one.</param>
    public sealed record Header(int Version, int Pixels, int[] HiddenWidths, int Classes, int Epochs, ulong Seed,
        double TestAccuracy, Dictionary<string, int> TensorLengths, DatasetFingerprint? Data = null)
    {
        /// <summary>The data the classifier learned: a file without a fingerprint is MNIST's (see <see cref="DatasetFingerprint.Mnist"/>).</summary>
        [JsonIgnore]
        public DatasetFingerprint Learned => Data ?? DatasetFingerprint.Mnist;
    }

    /// <summary>Writes <paramref name="classifier"/> with the data it learned and its training's facts to <paramref name="path"/>.</summary>
    public static void Save(string path, Classifier classifier, DatasetFingerprint data, int epochs, ulong seed, double testAccuracy)
    {
        (string Name, float[] Values)[] tensors = [(ParametersTensor, classifier.Store.AllParameters.GetAsArray())];
        var header = new Header(Version, classifier.In, [.. classifier.HiddenWidths], classifier.Classes, epochs, seed, testAccuracy,
            TensorFile.Lengths(tensors), data);
        TensorFile.Write(path, Magic, Version, header, tensors);
    }

    /// <summary>Reads and verifies the header and parameters, not yet on a device.</summary>
    public static (Header Header, float[] Parameters) Read(string path)
    {
        var (header, tensors) = TensorFile.Read<Header>(path, Magic, Version, "classifier", Invalid, h => h.TensorLengths);
        return (header, tensors[ParametersTensor]);
    }

    /// <summary>The first header field out of range, or null; the one tensor must be as long as the declared shape needs.</summary>
    static string? Invalid(Header header)
    {
        if (header.HiddenWidths is not { Length: > 0 } || header.TensorLengths is null) return "the header lacks the widths or the tensor list";
        int[] features = [header.Pixels, .. header.HiddenWidths, header.Classes];
        if (features.Length - 2 > GanConfig.MaxHiddenLayers) return $"{features.Length - 2} hidden layers, more than {GanConfig.MaxHiddenLayers}";
        if (features.FirstOrDefault(f => f is < 1 or > GanConfig.MaxFeatures) is var bad and not 0)
            return $"a size of {bad} in its shape {string.Join('-', features)}, outside 1 to {GanConfig.MaxFeatures}";
        long needed = ParameterLayout.OfLinears(features);
        if (needed > GanConfig.MaxBufferLength) return $"its shape {string.Join('-', features)} needs {needed} parameters, more than one buffer holds";
        if (header.TensorLengths.Keys.FirstOrDefault(name => name != ParametersTensor) is { } other)
            return $"unexpected tensor {Printable.Escape(other)}";
        if (!header.TensorLengths.TryGetValue(ParametersTensor, out var length)) return $"no tensor {ParametersTensor}";
        if (length != needed) return $"{length} parameters, its declared shape needs {needed}";
        var learned = header.Learned;
        if (learned.Invalid() is { } problem) return problem;
        if (learned.Pixels != header.Pixels || learned.Classes != header.Classes)
            return $"a classifier of {header.Pixels} pixels and {header.Classes} classes, its data {learned} has {learned.Pixels} and {learned.Classes}" +
                (header.Data is null ? " (a file without a data fingerprint is MNIST's)" : "");
        return null;
    }

    /// <summary>The classifier a file holds, on the device, with room for batches of <paramref name="maxRows"/>.</summary>
    public static (Classifier Classifier, Header Header) Load(string path, KernelSet kernels, int maxRows) =>
        ToDevice(Read(path), kernels, maxRows);

    /// <summary>The classifier a file's contents describe, on the device.</summary>
    public static (Classifier Classifier, Header Header) ToDevice((Header Header, float[] Parameters) file, KernelSet kernels, int maxRows)
    {
        var (header, parameters) = file;
        var classifier = new Classifier(kernels, header.Pixels, header.HiddenWidths, header.Classes, maxRows);
        classifier.Store.AllParameters.CopyFromCPU(parameters);
        return (classifier, header);
    }
}

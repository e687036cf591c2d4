using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Data;

/// <summary>
/// A whole training set resident on the device, reshuffled every epoch by a device permutation and cut
/// into batches by a device gather, as the seed's DataLoader(shuffle=True, drop_last=True) does on the host.
/// Each image may carry a target row (a classifier's one-hot label), gathered in the same order.
/// </summary>
public sealed class DeviceDataset : IDisposable
{
    readonly KernelSet kernels;
    readonly MemoryBuffer1D<float, Stride1D.Dense> images;
    readonly MemoryBuffer1D<float, Stride1D.Dense>? targets;
    readonly MemoryBuffer1D<int, Stride1D.Dense> order;
    long shuffledEpoch = -1;

    /// <param name="kernels">The kernels, on the device the data is copied to.</param>
    /// <param name="images">count × pixels values, already scaled as the model takes them.</param>
    /// <param name="pixels">The values per image.</param>
    /// <param name="targets">null, or count × TargetWidth values: one row per image.</param>
    public DeviceDataset(KernelSet kernels, float[] images, int pixels, float[]? targets = null)
    {
        if (pixels < 1 || images.Length == 0 || images.Length % pixels != 0)
            throw new ArgumentException($"{images.Length} values are not whole images of {pixels} pixels");
        this.kernels = kernels;
        Pixels = pixels;
        Count = images.Length / pixels;
        if (targets is not null)
        {
            if (targets.Length == 0 || targets.Length % Count != 0)
                throw new ArgumentException($"{targets.Length} target values are not one row for each of {Count} images");
            TargetWidth = targets.Length / Count;
            this.targets = kernels.Device.Accelerator.Allocate1D(targets);
        }
        this.images = kernels.Device.Accelerator.Allocate1D(images);
        order = kernels.Device.Accelerator.Allocate1D<int>(Count);
    }

    /// <summary>The number of images.</summary>
    public int Count { get; }
    /// <summary>The values per image.</summary>
    public int Pixels { get; }
    /// <summary>Values per target row; 0 without targets.</summary>
    public int TargetWidth { get; }

    /// <summary>Full batches per epoch: the last partial batch is dropped, as drop_last=True.</summary>
    public int StepsPerEpoch(int batchSize) => Count / batchSize;

    /// <summary>
    /// Writes the real batch of global step <paramref name="step"/> into <paramref name="destination"/>
    /// [batchSize, pixels], and its targets into <paramref name="targetDestination"/> [batchSize, TargetWidth]
    /// when one is given. The epoch's order is a pure function of (seed, epoch), so a resumed run draws the
    /// same batches as an unbroken one.
    /// </summary>
    public void FillBatch(ArrayView<float> destination, long step, int batchSize, ulong seed,
        ArrayView<float> targetDestination = default)
    {
        int steps = Shuffle(step, batchSize, seed);
        int start = (int)(step % steps) * batchSize;
        kernels.Gather.Rows(images.View, order.View, start, destination, batchSize, Pixels);
        if (targetDestination.Length > 0)
            kernels.Gather.Rows((targets ?? throw new InvalidOperationException("the data set has no targets")).View,
                order.View, start, targetDestination, batchSize, TargetWidth);
    }

    /// <summary>
    /// A GAN step's inputs in one launch (<see cref="StepInputs"/>): its noise, which advances the device's step state,
    /// and <see cref="FillBatch"/>'s images, the rows' offset read from that state, which must hold
    /// <paramref name="step"/> as the committed step + 1. The launch's arguments are the same at every step; the
    /// epoch's shuffle is launched before it at an epoch's first step.
    /// </summary>
    public void FillStepInputs(ArrayView<float> noise, NoiseDraw draw, ArrayView<long> stepState, long step,
        ArrayView<float> destination, int batchSize, ulong seed)
    {
        int steps = Shuffle(step, batchSize, seed);
        kernels.StepInputs.Draw(noise, draw, stepState, images.View, order.View, destination, new(steps, batchSize, Pixels));
    }

    /// <summary>Shuffles for <paramref name="step"/>'s epoch unless its order is in place; returns the steps per epoch.</summary>
    int Shuffle(long step, int batchSize, ulong seed)
    {
        int steps = StepsPerEpoch(batchSize);
        if (steps < 1) throw new ArgumentException($"a batch of {batchSize} is larger than the {Count} images");
        long epoch = step / steps;
        if (epoch != shuffledEpoch)
        {
            kernels.Random.Permutation(order.View, Count, seed, RandomStreams.ShuffleStream(epoch));
            shuffledEpoch = epoch;
        }
        return steps;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        images.Dispose();
        targets?.Dispose();
        order.Dispose();
    }
}

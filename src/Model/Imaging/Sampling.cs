using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Imaging;

/// <summary>How BatchNorm normalises while sampling: by each batch's statistics (the reference) or the running ones.</summary>
public enum SampleMode
{
    /// <summary>Each batch normalised by its own statistics, as the reference samples.</summary>
    Train,
    /// <summary>Normalised by the running statistics.</summary>
    Eval,
}

/// <summary>Drawing a trained generator's digits, as `sample`, `eval` and `train --eval-every` do.</summary>
public static class Sampling
{
    /// <summary>A GAN of the checkpoint's config holding its state.</summary>
    public static Gan Restore(KernelSet kernels, Checkpoint.Contents contents, string checkpointPath)
    {
        var gan = new Gan(kernels, contents.Header.Config);
        try { Checkpoint.Restore(contents, gan, checkpointPath); }
        catch
        {
            gan.Dispose();
            throw;
        }
        return gan;
    }

    /// <summary>Samples quantised as saved images are: the bytes an IDX file of them holds.</summary>
    public static byte[] ToBytes(float[] pixels) => Array.ConvertAll(pixels, MnistDataset.FloatToPixel);

    /// <summary>
    /// count samples in [−1, 1]. In train mode each batch of the training batch size is normalised by its own
    /// statistics, as the reference's G in train mode does; the running statistics are left alone either way.
    /// </summary>
    public static float[] Draw(KernelSet kernels, Gan gan, int count, SampleMode mode, ulong seed)
    {
        var result = new float[(long)count * gan.Config.ImagePixels];
        DrawBatches(kernels, gan, count, mode, seed, (start, pixels) => pixels.CopyTo(result.AsSpan(start * gan.Config.ImagePixels)));
        return result;
    }

    /// <summary>The samples of <see cref="Draw"/>, handed a batch at a time, so that drawing many holds one batch.</summary>
    public static void DrawBatches(KernelSet kernels, Gan gan, int count, SampleMode mode, ulong seed, SampleBatch take)
    {
        var config = gan.Config;
        int batch = config.BatchSize, z = config.ZDim, pixelsPerImage = config.ImagePixels;
        var pixels = new float[Math.Min(batch, count) * pixelsPerImage];
        using var noise = kernels.Device.Accelerator.Allocate1D<float>((long)batch * z);
        for (int start = 0, chunk = 0; start < count; start += batch, chunk++)
        {
            int rows = Math.Min(batch, count - start);
            // A train-mode tail of one row would normalise every pixel to β: draw a full batch and keep the head.
            int drawn = mode == SampleMode.Train ? batch : rows;
            kernels.Random.Gaussian(noise.View, drawn * z, seed, RandomStreams.FixedSampleStream(1 + chunk));
            var images = gan.SamplingGenerator.Forward(noise.View, drawn,
                mode == SampleMode.Train ? ForwardMode.BatchStatistics : ForwardMode.Eval);
            var head = pixels.AsSpan(0, rows * pixelsPerImage);
            images.SubView(0, head.Length).CopyToCPU(head);
            take(start, head);
        }
    }
}

/// <summary>Samples <paramref name="start"/> onwards, as <see cref="Sampling.DrawBatches"/> hands them; the span is reused after the call.</summary>
public delegate void SampleBatch(int start, ReadOnlySpan<float> pixels);

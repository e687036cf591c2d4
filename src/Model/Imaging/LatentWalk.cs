using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Model.Imaging;

/// <summary>
/// A generator's samples along a spherical walk through random points of z. Every frame goes through G in ONE
/// batch, so in train mode BatchNorm normalises all frames by the same statistics and an animation of them does
/// not flicker.
/// </summary>
public static class LatentWalk
{
    /// <summary>The anchors: Points draws of z from the seed's latent-walk stream, [Points, zDim].</summary>
    public static void DrawAnchors(KernelSet kernels, ArrayView<float> anchors, int points, int zDim, ulong seed) =>
        kernels.Random.Gaussian(anchors, points * zDim, seed, RandomStreams.LatentWalkStream());

    /// <summary>The walk's Points·Frames samples in [−1, 1], leg by leg, from a GAN restored with one batch for all of them.</summary>
    public static float[] Draw(KernelSet kernels, Checkpoint.Contents contents, string checkpointPath, int points, int frames,
        ulong seed, SampleMode mode)
    {
        int rows = points * frames, zDim = contents.Header.Config.ZDim;
        using var gan = Sampling.Restore(kernels, contents with { Header = contents.Header with { Config = contents.Header.Config with { BatchSize = rows } } },
            checkpointPath);
        var accelerator = kernels.Device.Accelerator;
        using var anchors = accelerator.Allocate1D<float>((long)points * zDim);
        using var walk = accelerator.Allocate1D<float>((long)rows * zDim);
        DrawAnchors(kernels, anchors.View, points, zDim, seed);
        new Interpolation(kernels.Device).SlerpLoop(anchors.View, points, frames, zDim, walk.View);
        var images = gan.SamplingGenerator.Forward(walk.View, rows,
            mode == SampleMode.Train ? ForwardMode.BatchStatistics : ForwardMode.Eval);
        return images.SubView(0, (long)rows * gan.Config.ImagePixels).GetAsArray();
    }
}

using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// Latent walks: spherical interpolation (slerp) between anchor points of z, the path GAN users draw because a
/// Gaussian z lives near a sphere, where a straight line would pass through low-density points near the origin.
/// </summary>
public sealed class Interpolation
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, int, int, int, ArrayView<float>> slerpLoop;

    /// <summary>Loads the interpolation kernel on <paramref name="device"/>.</summary>
    public Interpolation(ComputeDevice device)
    {
        this.device = device;
        slerpLoop = device.Accelerator.LoadStreamKernel<ArrayView<float>, int, int, int, ArrayView<float>>(SlerpLoopKernel);
    }

    /// <summary>
    /// A closed walk through <paramref name="points"/> anchors [points, width]: <paramref name="frames"/> rows per
    /// leg, leg s from anchor s to anchor s+1 (the last back to the first), row s·frames + f at t = f/frames.
    /// Row s·frames is anchor s exactly. walk holds points·frames rows.
    /// </summary>
    public void SlerpLoop(ArrayView<float> anchors, int points, int frames, int width, ArrayView<float> walk)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(points, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(frames, 1);
        Views.AtLeast(anchors, (long)points * width); Views.AtLeast(walk, (long)points * frames * width);
        int rows = points * frames;
        using var _ = device.Profile("slerp", 10.0 * rows * width, 4.0 * 3 * rows * width);
        slerpLoop(device.GridStride(rows), anchors, points, frames, width, walk);
    }

    [Kernel]
    static void SlerpLoopKernel(ArrayView<float> anchors, int points, int frames, int width, ArrayView<float> walk)
    {
        int rows = points * frames;
        for (int row = Grid.GlobalIndex.X, step = GridStrideLoop.Step; row < rows; row += step)
        {
            int leg = row / frames;
            long from = (long)leg * width, to = (long)((leg + 1) % points) * width, output = (long)row * width;
            float t = (row - leg * frames) / (float)frames;
            float dot = 0f, fromSquares = 0f, toSquares = 0f;
            for (int i = 0; i < width; i++)
            {
                float a = anchors[from + i], b = anchors[to + i];
                dot += a * b;
                fromSquares += a * a;
                toSquares += b * b;
            }
            float cosine = XMath.Clamp(dot / XMath.Sqrt(fromSquares * toSquares), -1f, 1f);
            float omega = XMath.Acos(cosine), sine = XMath.Sin(omega);
            // Parallel or opposite anchors (always so in one dimension) have no plane to turn in: a straight line, not 0/0.
            bool straight = sine < 1e-6f;
            float weightFrom = straight ? 1f - t : XMath.Sin((1f - t) * omega) / sine;
            float weightTo = straight ? t : XMath.Sin(t * omega) / sine;
            for (int i = 0; i < width; i++)
                walk[output + i] = weightFrom * anchors[from + i] + weightTo * anchors[to + i];
        }
    }
}

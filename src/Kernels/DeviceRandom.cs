using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3", SC11;
/// Random123), and the Gaussian and permutation elements built on it. The kernels of
/// <see cref="DeviceRandom"/> call these same methods, so the host reproduces any device value exactly
/// (on the CPU accelerator) or to the accuracy of the device's log, sin and cos (on a GPU).
/// </summary>
public static class Philox
{
    // Random123's round multipliers and Weyl key increments (golden ratio, √3 − 1) for Philox4x32.
    const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    const uint W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /// <summary>
    /// Tags the counters of the permutation's round functions: a Gaussian's counter holds its block index
    /// i/4 &lt; 2^29 (n is an int) in words 0–1, so its word 1 is always 0 and the two never draw the same block.
    /// </summary>
    const uint PermutationDomain = 0x7065726D;

    /// <summary>
    /// Rounds of the permutation's Feistel network and its smallest width in bits. Luby–Rackoff's 4 rounds are
    /// not enough on small domains: over 200,000–400,000 streams, the chi-square of "position i holds value j"
    /// showed the cycle walk's bias for n = 10 with 4 or 6 rounds, and for n = 5 even with 12 rounds on the bare
    /// next power of two (halves of 1–2 bits have too few distinct round functions). 8 rounds on at least 2^8
    /// values showed none for n = 3, 5, 7, 10, 33, 100, 300; tiny n just walk longer.
    /// </summary>
    public const int FeistelRounds = 8, MinFeistelBits = 8;

    /// <summary>Philox4x32 with 10 rounds: 128 counter bits and 64 key bits to 128 random bits (Random123's word order).</summary>
    public static (uint, uint, uint, uint) Philox4x32_10(uint counter0, uint counter1, uint counter2, uint counter3,
        uint key0, uint key1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                key0 += W0;
                key1 += W1;
            }
            ulong product0 = (ulong)M0 * counter0;
            ulong product1 = (ulong)M1 * counter2;
            (counter0, counter1, counter2, counter3) = (
                (uint)(product1 >> 32) ^ counter1 ^ key0, (uint)product1,
                (uint)(product0 >> 32) ^ counter3 ^ key1, (uint)product0);
        }
        return (counter0, counter1, counter2, counter3);
    }

    /// <summary>
    /// The four N(0,1) values of elements 4·block … 4·block+3 of (seed, stream): one Philox block (counter =
    /// (block, stream), key = seed), Box–Muller on its words (0,1) and (2,3), paired as curand_normal4 pairs them.
    /// </summary>
    public static (float, float, float, float) GaussianBlock(ulong seed, ulong stream, ulong block)
    {
        var (bits0, bits1, bits2, bits3) = Philox4x32_10((uint)block, (uint)(block >> 32), (uint)stream,
            (uint)(stream >> 32), (uint)seed, (uint)(seed >> 32));
        var (z0, z1) = BoxMuller(bits0, bits1);
        var (z2, z3) = BoxMuller(bits2, bits3);
        return (z0, z1, z2, z3);
    }

    /// <summary>Element <paramref name="index"/> of the Gaussian sequence of (seed, stream).</summary>
    public static float Gaussian(ulong seed, ulong stream, long index)
    {
        var (z0, z1, z2, z3) = GaussianBlock(seed, stream, (ulong)index / 4);
        return (index % 4) switch { 0 => z0, 1 => z1, 2 => z2, _ => z3 };
    }

    /// <summary>A uniform in [0, 1) from the 24 high bits: every value is exact in float, none rounds up to 1.</summary>
    public static float Uniform(uint bits) => (bits >> 8) * (1f / (1 << 24));

    /// <summary>
    /// The radius takes log(1 − u), u &lt; 1, so log(0) never happens; |z| ≤ √(48 ln 2) ≈ 5.77. ILGPU's CUDA
    /// backend turns MathF.Log into lg2.approx.f32, whose absolute error near 1 can make the log of a value
    /// just below 1 positive: the clamp keeps the square root off negatives (on the host it never acts).
    /// </summary>
    static (float, float) BoxMuller(uint radiusBits, uint angleBits)
    {
        float radius = MathF.Sqrt(MathF.Max(-2f * MathF.Log(1f - Uniform(radiusBits)), 0f));
        float angle = 2f * MathF.PI * Uniform(angleBits);
        return (radius * MathF.Cos(angle), radius * MathF.Sin(angle));
    }

    /// <summary>
    /// Element <paramref name="index"/> of the permutation of 0..n−1 drawn by (seed, stream): a Feistel
    /// bijection on [0, 2^max(⌈log2 n⌉, 8)), walked along its cycle until it lands back in [0, n) (Black and
    /// Rogaway's cycle walking, which keeps it a bijection on [0, n)): fewer than 2 steps on average for n ≥ 128.
    /// Needs n ≥ 1 and 0 ≤ index &lt; n.
    /// </summary>
    public static int PermutationElement(ulong seed, ulong stream, int n, int index)
    {
        int bits = MinFeistelBits;
        while ((1L << bits) < n) bits++;
        uint value = (uint)index;
        do value = Feistel(value, bits, seed, stream);
        while (value >= (uint)n);
        return (int)value;
    }

    /// <summary>
    /// An unbalanced Feistel network on <paramref name="bits"/> bits: the halves take turns being XORed with a
    /// keyed function of the other, so every round is invertible whatever the halves' widths (odd bit counts
    /// too). The round function is Philox itself, keyed by the seed, its counter naming stream and round.
    /// </summary>
    static uint Feistel(uint value, int bits, ulong seed, ulong stream)
    {
        int leftBits = bits / 2, rightBits = bits - leftBits;
        uint leftMask = (1u << leftBits) - 1, rightMask = (1u << rightBits) - 1;
        uint left = value >> rightBits, right = value & rightMask;
        for (uint round = 0; round < FeistelRounds; round++)
        {
            if (round % 2 == 0) left ^= RoundFunction(right, round, seed, stream) & leftMask;
            else right ^= RoundFunction(left, round, seed, stream) & rightMask;
        }
        return (left << rightBits) | right;
    }

    static uint RoundFunction(uint half, uint round, ulong seed, ulong stream) =>
        Philox4x32_10(half, PermutationDomain + round, (uint)stream, (uint)(stream >> 32), (uint)seed,
            (uint)(seed >> 32)).Item1;
}

/// <summary>
/// Counter-based random numbers on the device: every value is a pure function of (seed, stream, index),
/// so a training step's noise and an epoch's shuffle are reproducible and keep no generator state.
/// </summary>
public sealed class DeviceRandom
{
    // Operation counts for the profiler: Philox is 10 rounds of 2 multiplies and 4 XORs or adds; a Box–Muller
    // pair is a log, a sqrt, a sin, a cos and 5 multiplies or subtracts.
    const double PhiloxOps = 60, BoxMullerPairOps = 9;

    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, int, ulong, ulong, ulong, int> gaussian;
    readonly Action<KernelConfig, ArrayView<int>, int, ulong, ulong> permutation;

    /// <summary>Loads the random-number kernels on <paramref name="device"/>.</summary>
    public DeviceRandom(ComputeDevice device)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        gaussian = accelerator.LoadStreamKernel<ArrayView<float>, int, ulong, ulong, ulong, int>(GaussianKernel);
        permutation = accelerator.LoadStreamKernel<ArrayView<int>, int, ulong, ulong>(PermutationKernel);
    }

    /// <summary>output[i] = <see cref="Philox.Gaussian"/>(seed, stream, i) ~ N(0, 1) for i in [0, n).</summary>
    public void Gaussian(ArrayView<float> output, int n, ulong seed, ulong stream)
    {
        Views.AtLeast(output, n);
        int blocks = (int)(((long)n + 3) / 4);
        var config = device.GridStride(blocks);
        device.Recorder?.Add("gaussian", config, output, n, seed, stream, stream, 1);
        using var _ = device.Profile("gaussian", (PhiloxOps + 2 * BoxMullerPairOps) / 4.0 * n, 4.0 * n);
        gaussian(config, output, n, seed, stream, stream, 1);
    }

    /// <summary>
    /// Two draws in one launch: output[i] = <see cref="Philox.Gaussian"/>(seed, firstStream, i) and output[n + i] =
    /// <see cref="Philox.Gaussian"/>(seed, secondStream, i) for i in [0, n), the values of two <see cref="Gaussian"/> calls.
    /// </summary>
    public void Gaussians(ArrayView<float> output, int n, ulong seed, ulong firstStream, ulong secondStream)
    {
        Views.AtLeast(output, 2L * n);
        int blocks = (int)(((long)n + 3) / 4);
        var config = device.GridStride(2L * blocks);
        device.Recorder?.Add("gaussian", config, output, n, seed, firstStream, secondStream, 2);
        using var _ = device.Profile("gaussian", 2 * (PhiloxOps + 2 * BoxMullerPairOps) / 4.0 * n, 8.0 * n);
        gaussian(config, output, n, seed, firstStream, secondStream, 2);
    }

    /// <summary>perm[i] = <see cref="Philox.PermutationElement"/>(seed, stream, n, i): a permutation of 0..n−1.</summary>
    public void Permutation(ArrayView<int> perm, int n, ulong seed, ulong stream)
    {
        Views.AtLeast(perm, n);
        // Cycle walking takes fewer than 2 Feistel passes per element on average (n ≥ 128).
        var config = device.GridStride(n);
        device.Recorder?.Add("permutation", config, perm, n, seed, stream);
        using var _ = device.Profile("permutation", 2.0 * Philox.FeistelRounds * PhiloxOps * n, 4.0 * n);
        permutation(config, perm, n, seed, stream);
    }

    /// <summary>
    /// One thread per Philox block of four outputs, so no block is drawn twice; the second of two parts (n values
    /// each) draws from its own stream.
    /// </summary>
    [Kernel]
    static void GaussianKernel(ArrayView<float> output, int n, ulong seed, ulong firstStream, ulong secondStream, int parts)
    {
        DrawParts(output, n, seed, firstStream, secondStream, parts);
    }

    /// <summary>Inside a kernel: this thread's Philox blocks of <paramref name="parts"/> parts of n values, each part its own stream.</summary>
    static void DrawParts(ArrayView<float> output, int n, ulong seed, ulong firstStream, ulong secondStream, int parts)
    {
        int blocksPerPart = (int)(((long)n + 3) / 4);
        int blocks = blocksPerPart * parts;
        for (int block = Grid.GlobalIndex.X, step = GridStrideLoop.Step; block < blocks; block += step)
        {
            int part = block / blocksPerPart, partBlock = block - part * blocksPerPart;
            var (z0, z1, z2, z3) = Philox.GaussianBlock(seed, part == 0 ? firstStream : secondStream, (ulong)partBlock);
            int i = 4 * partBlock;
            var values = output.SubView((long)part * n, n);
            values[i] = z0;
            if (i + 1 < n) values[i + 1] = z1;
            if (i + 2 < n) values[i + 2] = z2;
            if (i + 3 < n) values[i + 3] = z3;
        }
    }

    /// <summary>
    /// Inside a kernel: a training step's two draws, <see cref="GaussianKernel"/>'s with the streams
    /// streamBase | (s &lt;&lt; stepShift) | part for part 0 and 1, where s is the step after the committed one in
    /// <paramref name="state"/> (see <see cref="StepState"/>); thread 0 writes the step's counters, each the committed
    /// one plus 1, which starts the step. <see cref="StepInputs"/> runs it.
    /// </summary>
    internal static void StepGaussiansKernel(ArrayView<float> output, int n, ulong seed, ArrayView<long> state, ulong streamBase, int stepShift)
    {
        // Threads read only the committed slots, and only thread 0 writes, the others: no race within the launch.
        long step = state[StepState.Committed + StepState.Step] + 1;
        ulong firstStream = streamBase | ((ulong)step << stepShift), secondStream = firstStream | 1;
        if (Grid.GlobalIndex.X == 0)
            for (int counter = 0; counter < StepState.Counters; counter++)
                state[counter] = state[StepState.Committed + counter] + 1;
        DrawParts(output, n, seed, firstStream, secondStream, 2);
    }

    [Kernel]
    static void PermutationKernel(ArrayView<int> perm, int n, ulong seed, ulong stream)
    {
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < n; i += step)
            perm[i] = Philox.PermutationElement(seed, stream, n, i);
    }
}

namespace IlgpuGan.Model.Nn;

/// <summary>
/// The counter-based generator's streams, one per purpose in the top byte, so that no two uses of a seed
/// ever draw the same numbers. A run's randomness is then (seed, step) alone: resuming needs no RNG state.
/// </summary>
internal static class RandomStreams
{
    const ulong Noise = 1UL << 56, Shuffle = 2UL << 56, FixedSamples = 3UL << 56, Initialization = 4UL << 56,
        Dropout = 5UL << 56, LatentWalk = 6UL << 56;

    /// <summary>The z of step <paramref name="step"/>: which 0 for D's fake batch, 1 for G's fresh one.</summary>
    public static ulong NoiseStream(long step, int which) => NoiseStreamBase | ((ulong)step << NoiseStepShift) | (uint)which;

    /// <summary><see cref="NoiseStream"/>'s parts, for the device's draw that forms the step on the device.</summary>
    public const ulong NoiseStreamBase = Noise;
    public const int NoiseStepShift = 1;

    public static ulong ShuffleStream(long epoch) => Shuffle | (ulong)epoch;

    /// <summary>The fixed z decoded into every sample grid of a run.</summary>
    public static ulong FixedSampleStream(int which = 0) => FixedSamples | (uint)which;

    public static ulong InitializationStream(int tensor) => Initialization | (uint)tensor;

    /// <summary>The anchor points of `interpolate`'s latent walk.</summary>
    public static ulong LatentWalkStream() => LatentWalk;

    /// <summary>
    /// The mask of dropout layer <paramref name="layer"/> (&lt; 16) in pass <paramref name="pass"/> (&lt; 16) of D
    /// at step <paramref name="step"/>: 0 for the D step, 1 for the G step, as PyTorch draws a fresh mask per call.
    /// </summary>
    public static ulong DropoutStream(long step, int pass, int layer)
    {
        if ((uint)pass >= 16 || (uint)layer >= 16)
            throw new ArgumentOutOfRangeException(nameof(layer), "dropout streams name passes and layers 0 to 15");
        return DropoutStreamBase(pass, layer) | ((ulong)step << DropoutStepShift);
    }

    /// <summary><see cref="DropoutStream"/> without its step, which the device ORs in shifted by <see cref="DropoutStepShift"/>.</summary>
    public static ulong DropoutStreamBase(int pass, int layer)
    {
        if ((uint)pass >= 16 || (uint)layer >= 16)
            throw new ArgumentOutOfRangeException(nameof(layer), "dropout streams name passes and layers 0 to 15");
        return Dropout | ((uint)pass << 4) | (uint)layer;
    }

    public const int DropoutStepShift = 8;
}

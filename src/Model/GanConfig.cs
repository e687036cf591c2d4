using IlgpuGan.Kernels;

namespace IlgpuGan.Model;

/// <summary>
/// The generator's objective. NonSaturating: minimise BCE(D(G(z)), 1), the seed's and Goodfellow et al.'s
/// practical choice. Saturating: minimise −BCE(D(G(z)), 0) = log(1 − D(G(z))), the paper's minimax loss,
/// whose gradient vanishes while D wins, which is why the seed notes it does not learn.
/// </summary>
public enum GeneratorLoss { NonSaturating, Saturating }

/// <summary>Everything that fixes a GAN's shape and training: the seed's recipe by default.</summary>
public sealed record GanConfig
{
    public int BatchSize { get; init; } = 128;
    public int ZDim { get; init; } = 100;
    public int ImagePixels { get; init; } = 28 * 28;
    public IReadOnlyList<int> GeneratorWidths { get; init; } = Generator.ReferenceWidths;
    public IReadOnlyList<int> DiscriminatorWidths { get; init; } = Discriminator.ReferenceWidths;
    public GeneratorLoss Loss { get; init; } = GeneratorLoss.NonSaturating;
    public AdamSettings Adam { get; init; } = AdamSettings.Reference;
    public ulong Seed { get; init; }

    // The recipe knobs. Their defaults are the seed's, so a checkpoint written before they existed reads as the seed.
    /// <summary>tanh on G's output, so its images lie in the data's range [−1, 1].</summary>
    public bool TanhOutput { get; init; }
    /// <summary>G's hidden layers as Linear → BatchNorm1d → LeakyReLU instead of the seed's Linear → LeakyReLU → BatchNorm1d.</summary>
    public bool BatchNormBeforeActivation { get; init; }
    /// <summary>The target of D's loss on real images: below 1 is one-sided label smoothing (Salimans et al. 2016).</summary>
    public float RealTarget { get; init; } = 1f;
    /// <summary>The probability of nn.Dropout after each hidden LeakyReLU of D; 0: no dropout layers.</summary>
    public float DiscriminatorDropout { get; init; }
    /// <summary>
    /// The decay of an exponential moving average of G's parameters and running statistics, updated after every G
    /// step and used for sampling; 0: no average, samples come from G itself.
    /// </summary>
    public double GeneratorAverageDecay { get; init; }
    /// <summary>
    /// A warm-up of that decay: after G's step t (from 1) it is min(decay, (1 + t)/(10 + t)), TensorFlow's
    /// ExponentialMovingAverage with num_updates. The average then spans about the last tenth of the steps taken, so it
    /// neither lags early (a constant 0.999 remembers the initial weights for about 1,000 steps) nor forgets late.
    /// </summary>
    public bool GeneratorAverageWarmup { get; init; }

    /// <summary>The average's decay for the update after G's step <paramref name="generatorStep"/> (counted from 1).</summary>
    public double GeneratorAverageDecayAfter(long generatorStep) => GeneratorAverageWarmup
        ? Math.Min(GeneratorAverageDecay, (1.0 + generatorStep) / (10.0 + generatorStep))
        : GeneratorAverageDecay;

    /// <summary>
    /// Both learning rates fall linearly to 0 from the start of epoch LearningRateDecayFrom to the start of epoch
    /// LearningRateDecayTo (counted from 0, step by step); when To is not after From they stay constant, as the seed's.
    /// </summary>
    public int LearningRateDecayFrom { get; init; }
    public int LearningRateDecayTo { get; init; }

    /// <summary>The factor on the learning rates for the step with index <paramref name="step"/>: 1 before the decay, 0 after it.</summary>
    public float LearningRateFactor(long step, int stepsPerEpoch)
    {
        if (LearningRateDecayTo <= LearningRateDecayFrom) return 1f;
        long from = (long)LearningRateDecayFrom * stepsPerEpoch, to = (long)LearningRateDecayTo * stepsPerEpoch;
        return (float)Math.Clamp((double)(to - step) / (to - from), 0, 1);
    }

    /// <summary>
    /// How a checkpoint of this config cannot start a run of <paramref name="other"/>: the first difference in the
    /// networks' shapes, or a G average the other keeps and this has not; null when it can.
    /// </summary>
    public string? ArchitectureDifference(GanConfig other) =>
        ZDim != other.ZDim ? $"z has {ZDim} values, not {other.ZDim}"
        : ImagePixels != other.ImagePixels ? $"images have {ImagePixels} pixels, not {other.ImagePixels}"
        : !GeneratorWidths.SequenceEqual(other.GeneratorWidths)
            ? $"G's widths are {string.Join(",", GeneratorWidths)}, not {string.Join(",", other.GeneratorWidths)}"
        : !DiscriminatorWidths.SequenceEqual(other.DiscriminatorWidths)
            ? $"D's widths are {string.Join(",", DiscriminatorWidths)}, not {string.Join(",", other.DiscriminatorWidths)}"
        : TanhOutput != other.TanhOutput ? $"G's output is {(TanhOutput ? "" : "not ")}tanh'd"
        : BatchNormBeforeActivation != other.BatchNormBeforeActivation
            ? $"G's BatchNorm comes {(BatchNormBeforeActivation ? "before" : "after")} its LeakyReLU"
        : GeneratorAverageDecay == 0 && other.GeneratorAverageDecay > 0 ? "it keeps no average of G to continue"
        : null;

    /// <summary>The same recipe with every hidden layer <paramref name="factor"/> times wider (benchmarks).</summary>
    public GanConfig Widened(int factor) => this with
    {
        GeneratorWidths = GeneratorWidths.Select(w => w * factor).ToArray(),
        DiscriminatorWidths = DiscriminatorWidths.Select(w => w * factor).ToArray(),
    };
}

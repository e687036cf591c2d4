using System.Text.Json.Serialization;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model;

/// <summary>
/// The generator's objective. NonSaturating: minimise BCE(D(G(z)), 1), the seed's and Goodfellow et al.'s
/// practical choice. Saturating: minimise −BCE(D(G(z)), 0) = log(1 − D(G(z))), the paper's minimax loss,
/// whose gradient vanishes while D wins, which is why the seed notes it does not learn.
/// </summary>
public enum GeneratorLoss
{
    /// <summary>BCE(D(G(z)), 1), the usual choice.</summary>
    NonSaturating,
    /// <summary>The paper's −BCE(D(G(z)), 0).</summary>
    Saturating,
}

/// <summary>Everything that fixes a GAN's shape and training: the seed's recipe by default.</summary>
public sealed record GanConfig
{
    /// <summary>Images per training batch.</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>The size of the noise z.</summary>
    public int ZDim { get; init; } = 100;
    /// <summary>The images' shape. A checkpoint written before the shape was recorded holds MNIST's and reads as it.</summary>
    public ImageShape Image { get; init; } = ImageShape.Mnist;
    /// <summary>C·H·W of <see cref="Image"/>: the length of G's output and of D's input.</summary>
    [JsonIgnore]
    public int ImagePixels => Image.Pixels;
    /// <summary>The widths of G's hidden layers.</summary>
    public IReadOnlyList<int> GeneratorWidths { get; init; } = Generator.ReferenceWidths;
    /// <summary>The widths of D's hidden layers.</summary>
    public IReadOnlyList<int> DiscriminatorWidths { get; init; } = Discriminator.ReferenceWidths;
    /// <summary>G's loss.</summary>
    public GeneratorLoss Loss { get; init; } = GeneratorLoss.NonSaturating;
    /// <summary>Both networks' Adam settings.</summary>
    public AdamSettings Adam { get; init; } = AdamSettings.Reference;
    /// <summary>The seed of every random draw: initialisation, noise, shuffling and dropout.</summary>
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
    public double GeneratorAverageDecayAfter(long generatorStep) =>
        ExponentialAverage.DecayAfter(new(GeneratorAverageDecay, GeneratorAverageWarmup ? 1 : 0, Counter: 0), generatorStep);

    /// <summary>
    /// Both learning rates fall linearly to 0 from the start of epoch LearningRateDecayFrom to the start of epoch
    /// LearningRateDecayTo (counted from 0, step by step); when To is not after From they stay constant, as the seed's.
    /// </summary>
    public int LearningRateDecayFrom { get; init; }
    /// <summary>The epoch at which the learning rates reach 0; see <see cref="LearningRateDecayFrom"/>.</summary>
    public int LearningRateDecayTo { get; init; }

    /// <summary>The factor on the learning rates for the step with index <paramref name="step"/>: 1 before the decay, 0 after it.</summary>
    public float LearningRateFactor(long step, int stepsPerEpoch) =>
        Kernels.Adam.DecayFactor(step, (long)LearningRateDecayFrom * stepsPerEpoch, (long)LearningRateDecayTo * stepsPerEpoch);

    /// <summary>
    /// How a checkpoint of this config cannot start a run of <paramref name="other"/>: the first difference in the
    /// networks' shapes, or a G average the other keeps and this has not; null when it can.
    /// </summary>
    public string? ArchitectureDifference(GanConfig other) =>
        ZDim != other.ZDim ? $"z has {ZDim} values, not {other.ZDim}"
        : Image != other.Image ? $"images are {Image}, not {other.Image}"
        : !GeneratorWidths.SequenceEqual(other.GeneratorWidths)
            ? $"G's widths are {string.Join(",", GeneratorWidths)}, not {string.Join(",", other.GeneratorWidths)}"
        : !DiscriminatorWidths.SequenceEqual(other.DiscriminatorWidths)
            ? $"D's widths are {string.Join(",", DiscriminatorWidths)}, not {string.Join(",", other.DiscriminatorWidths)}"
        : TanhOutput != other.TanhOutput ? $"G's output is {(TanhOutput ? "" : "not ")}tanh'd"
        : BatchNormBeforeActivation != other.BatchNormBeforeActivation
            ? $"G's BatchNorm comes {(BatchNormBeforeActivation ? "before" : "after")} its LeakyReLU"
        : GeneratorAverageDecay == 0 && other.GeneratorAverageDecay > 0 ? "it keeps no average of G to continue"
        : null;

    /// <summary>
    /// The documented limits of the size knobs: z, an image's C·H·W values and each hidden width at most
    /// <see cref="MaxFeatures"/>, the batch at most <see cref="MaxBatchSize"/>, at most <see cref="MaxHiddenLayers"/>
    /// hidden layers a network; and every buffer a run allocates within <see cref="MaxBufferLength"/> floats.
    /// </summary>
    public const int MaxFeatures = 65536, MaxBatchSize = 65536, MaxHiddenLayers = 64;

    /// <summary>
    /// The most floats one tensor or buffer may hold: a .NET array's most elements, since a checkpoint copies each
    /// network's parameters to the host as one array, and the kernels index a buffer with 32-bit ints.
    /// </summary>
    public static long MaxBufferLength => Array.MaxLength;

    /// <summary>The lengths of the networks' flat buffers (Linear: out×in + out; BatchNorm1d: γ, β and two running statistics).</summary>
    public sealed record BufferLengths(long GeneratorParameters, long GeneratorState, long DiscriminatorParameters);

    /// <summary>
    /// The first value outside what a run can have, as a sentence naming it; null when every one is in range. Every
    /// size product is taken in 64-bit arithmetic, which the per-size limits keep from overflowing, so a config read
    /// from a file is refused before anything of its size is allocated. The command line, the checkpoint reader and
    /// the importer all validate by this.
    /// </summary>
    public string? Problem() => SizeProblem() ?? TrainingProblem();

    string? SizeProblem()
    {
        if (GeneratorWidths is null || DiscriminatorWidths is null) return "a network's list of widths is missing";
        if (Image is null) return "the image shape is missing";
        return OutOfRange("batch size", BatchSize, 2, MaxBatchSize)
            ?? OutOfRange("z dimension", ZDim, 1, MaxFeatures)
            ?? Image.Problem(MaxFeatures)
            ?? OutOfRange("G's hidden layer count", GeneratorWidths.Count, 0, MaxHiddenLayers)
            ?? OutOfRange("D's hidden layer count", DiscriminatorWidths.Count, 0, MaxHiddenLayers)
            ?? GeneratorWidths.Select(w => OutOfRange("a width of G", w, 1, MaxFeatures)).FirstOrDefault(p => p is not null)
            ?? DiscriminatorWidths.Select(w => OutOfRange("a width of D", w, 1, MaxFeatures)).FirstOrDefault(p => p is not null)
            ?? BufferProblem();
    }

    /// <summary>Each weight matrix, each network's parameters and each layer's output for a batch within one buffer.</summary>
    string? BufferProblem()
    {
        string? Over(string what, long length) => length > MaxBufferLength
            ? $"{what} would hold {length} floats, more than one buffer holds ({MaxBufferLength})"
            : null;
        foreach (var (network, features, rows) in new[]
                 {
                     ("G", Features(ZDim, GeneratorWidths, ImagePixels), (long)BatchSize),
                     // D sees the real and the fake batch as one.
                     ("D", Features(ImagePixels, DiscriminatorWidths, 1), 2L * BatchSize),
                 })
            for (int i = 1; i < features.Count; i++)
                if ((Over($"{network}'s fc{i} weight ({features[i]} × {features[i - 1]})", (long)features[i] * features[i - 1])
                     ?? Over($"{network}'s fc{i} output for a batch ({rows} × {features[i]})", rows * features[i])) is { } problem)
                    return problem;
        var lengths = Lengths();
        return Over("G's parameters", lengths.GeneratorParameters) ?? Over("D's parameters", lengths.DiscriminatorParameters)
            ?? Over($"a batch of D's input ({2L * BatchSize} × {ImagePixels})", 2L * BatchSize * ImagePixels);
    }

    static List<int> Features(int input, IReadOnlyList<int> hidden, int output) => [input, .. hidden, output];

    /// <summary>The networks' buffer lengths of a config whose sizes are in range (<see cref="Problem"/> is null).</summary>
    public BufferLengths Lengths()
    {
        long norms = GeneratorWidths.Sum(w => 2L * w);
        return new BufferLengths(ParameterLayout.OfLinears(Features(ZDim, GeneratorWidths, ImagePixels)) + norms, norms,
            ParameterLayout.OfLinears(Features(ImagePixels, DiscriminatorWidths, 1)));
    }

    /// <summary>The training knobs, each by its one declaration in <see cref="Knobs"/>; then Adam's settings that are no knob.</summary>
    string? TrainingProblem() =>
        Knobs.RealTarget.Problem(RealTarget)
        ?? Knobs.DiscriminatorDropout.Problem(DiscriminatorDropout)
        ?? Knobs.GeneratorAverageDecay.Problem(GeneratorAverageDecay)
        ?? Knobs.LearningRateDecayFrom.Problem(LearningRateDecayFrom)
        ?? Knobs.LearningRateDecayTo.Problem(LearningRateDecayTo)
        ?? (!Enum.IsDefined(Loss) ? $"generator loss {(int)Loss} is not one this build knows" : null)
        ?? Knobs.LearningRate.Problem(Adam.LearningRate)
        ?? Knobs.Beta1.Problem(Adam.Beta1)
        ?? Knobs.WeightDecay.Problem(Adam.WeightDecay)
        ?? (!(Adam.Beta2 is >= 0f and < 1f) ? $"Adam's β2 {Adam.Beta2} is not in [0, 1)" : null)
        ?? (!(Adam.Eps > 0f && float.IsFinite(Adam.Eps)) ? $"Adam's epsilon {Adam.Eps} is not a positive number" : null);

    static string? OutOfRange(string what, long value, long min, long max) =>
        value < min ? $"{what} {value} is less than {min}" : value > max ? $"{what} {value} is more than {max}" : null;

    /// <summary>The same recipe with every hidden layer <paramref name="factor"/> times wider (benchmarks).</summary>
    public GanConfig Widened(int factor) => this with
    {
        GeneratorWidths = GeneratorWidths.Select(w => w * factor).ToArray(),
        DiscriminatorWidths = DiscriminatorWidths.Select(w => w * factor).ToArray(),
    };
}

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
    public IReadOnlyList<int> GeneratorWidths { get; init; } = Generator.SeedWidths;
    public IReadOnlyList<int> DiscriminatorWidths { get; init; } = Discriminator.SeedWidths;
    public GeneratorLoss Loss { get; init; } = GeneratorLoss.NonSaturating;
    public AdamSettings Adam { get; init; } = AdamSettings.Seed;
    public ulong Seed { get; init; }

    /// <summary>The same recipe with every hidden layer <paramref name="factor"/> times wider (benchmarks).</summary>
    public GanConfig Widened(int factor) => this with
    {
        GeneratorWidths = GeneratorWidths.Select(w => w * factor).ToArray(),
        DiscriminatorWidths = DiscriminatorWidths.Select(w => w * factor).ToArray(),
    };
}

using IlgpuGan.Model;

namespace IlgpuGan.Model.Training;

/// <summary>
/// The figures of <see cref="Gan.Statistic"/> by name: summed over steps as the device keeps them, or their mean
/// over an epoch. FakeScore is D(G(z)) in D's step; GeneratorFakeScore is D(G(z')) in G's step, after D's update.
/// </summary>
public readonly record struct TrainingStatistics(float DiscriminatorLoss, float GeneratorLoss, float RealScore,
    float FakeScore, float GeneratorFakeScore)
{
    /// <summary>The device's sums, read and cleared: one host round trip.</summary>
    public static TrainingStatistics Take(Gan gan)
    {
        var sums = gan.TakeStatistics();
        return new(sums[(int)Gan.Statistic.DiscriminatorLoss], sums[(int)Gan.Statistic.GeneratorLoss],
            sums[(int)Gan.Statistic.RealScore], sums[(int)Gan.Statistic.FakeScore], sums[(int)Gan.Statistic.GeneratorFakeScore]);
    }

    /// <summary>The sums of the two statistics' fields.</summary>
    public static TrainingStatistics operator +(TrainingStatistics a, TrainingStatistics b) =>
        new(a.DiscriminatorLoss + b.DiscriminatorLoss, a.GeneratorLoss + b.GeneratorLoss, a.RealScore + b.RealScore,
            a.FakeScore + b.FakeScore, a.GeneratorFakeScore + b.GeneratorFakeScore);

    /// <summary>Sums over <paramref name="steps"/> steps as means per step.</summary>
    public TrainingStatistics MeanOver(long steps) =>
        new(DiscriminatorLoss / steps, GeneratorLoss / steps, RealScore / steps, FakeScore / steps, GeneratorFakeScore / steps);
}

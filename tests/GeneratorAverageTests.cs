using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Tests;

/// <summary>The average of G that draws the samples, with and without the warm-up of its decay.</summary>
public sealed class GeneratorAverageTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    [Test]
    public void WarmupDecayFollowsTensorFlowsNumUpdatesAndStopsAtTheDecay()
    {
        var warm = new GanConfig { GeneratorAverageDecay = 0.999, GeneratorAverageWarmup = true };
        Assert.That(warm.GeneratorAverageDecayAfter(1), Is.EqualTo(2.0 / 11));
        Assert.That(warm.GeneratorAverageDecayAfter(90), Is.EqualTo(91.0 / 100));
        Assert.That(warm.GeneratorAverageDecayAfter(8990), Is.EqualTo(0.999), "(1 + t)/(10 + t) reaches 0.999 at t = 8990");
        Assert.That(warm.GeneratorAverageDecayAfter(1_000_000), Is.EqualTo(0.999));
        var constant = warm with { GeneratorAverageWarmup = false };
        Assert.That(constant.GeneratorAverageDecayAfter(1), Is.EqualTo(0.999));
    }

    /// <summary>
    /// Three steps of a small GAN from random weights: after each, the average is decay·average + (1 − decay)·G in
    /// float64, with the decay of that step, so an update that used the constant decay, or the step before's,
    /// fails. The running statistics are averaged the same way.
    /// </summary>
    [TestCase(true)]
    [TestCase(false)]
    public void EachStepBlendsGIntoTheAverageWithThatStepsDecay(bool warmup)
    {
        var config = new GanConfig
        {
            BatchSize = 5, ZDim = 7, Image = new(1, 1, 13), GeneratorWidths = [11, 6], DiscriminatorWidths = [9, 4],
            GeneratorAverageDecay = 0.5, GeneratorAverageWarmup = warmup,
        };
        using var gan = new Gan(new KernelSet(Device), config);
        var initialValues = new UniformSource(GoldenFile.Uniform, GoldenFile.ParameterStream);
        gan.Generator.Initialize(initialValues);
        gan.Discriminator.Initialize(initialValues);
        gan.StartAverage();
        var average = gan.AverageGenerator!.Store;
        var parameters64 = TestData.ToDouble(average.AllParameters.GetAsArray());
        var state64 = TestData.ToDouble(average.AllState.GetAsArray());
        var rng = new Random(5);
        for (int step = 0; step < 3; step++)
        {
            gan.RealBatch.CopyFromCPU(TestData.Uniform(rng, config.BatchSize * config.ImagePixels));
            gan.DiscriminatorNoise.CopyFromCPU(TestData.Uniform(rng, config.BatchSize * config.ZDim));
            gan.GeneratorNoise.CopyFromCPU(TestData.Uniform(rng, config.BatchSize * config.ZDim));
            gan.Step(step);

            double decay = warmup ? (2.0 + step) / (11.0 + step) : 0.5;
            var g = gan.Generator.Store.AllParameters.GetAsArray();
            var gState = gan.Generator.Store.AllState.GetAsArray();
            for (int i = 0; i < parameters64.Length; i++) parameters64[i] = decay * parameters64[i] + (1 - decay) * g[i];
            for (int i = 0; i < state64.Length; i++) state64[i] = decay * state64[i] + (1 - decay) * gState[i];
            TestData.AssertClose(parameters64, average.AllParameters.GetAsArray(), 1e-6, 1e-6, $"average parameters after step {step}");
            TestData.AssertClose(state64, average.AllState.GetAsArray(), 1e-6, 1e-6, $"average running statistics after step {step}");
        }
    }
}

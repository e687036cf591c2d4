using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model;

/// <summary>
/// Both networks and one training iteration exactly as the seed's train.py: D on a real batch and on
/// G(z).detach() with the SUM of the two BCE losses, D's Adam step; then a fresh z and G's loss through the
/// updated D, G's Adam step. Everything stays on the device: the host only enqueues launches, and the
/// losses and D's outputs are summed on the device for the host to read once per progress update.
/// The config's recipe knobs change the networks' layers, D's real target, and add an average of G's weights
/// that is updated after each G step and draws the samples.
/// </summary>
public sealed class Gan : IDisposable
{
    /// <summary>Slots of the device statistics: sums over the steps since the last reset.</summary>
    public enum Statistic
    {
        /// <summary>D's loss.</summary>
        DiscriminatorLoss,
        /// <summary>G's loss.</summary>
        GeneratorLoss,
        /// <summary>D's mean output on real images, D(x).</summary>
        RealScore,
        /// <summary>D's mean output on G's images in D's step, D(G(z)).</summary>
        FakeScore,
        /// <summary>D's mean output on G's images in G's step.</summary>
        GeneratorFakeScore,
        /// <summary>The number of statistics.</summary>
        Count,
    }

    readonly KernelSet kernels;
    readonly MemoryBuffer1D<float, Stride1D.Dense> discriminatorBatch, noise, dScores, dFake, statistics;

    /// <summary>
    /// The step's counters on the device (<see cref="StepState"/>): the step's first launch advances them and its last
    /// commits them, so no launch of a step takes a per-step value from the host.
    /// </summary>
    readonly MemoryBuffer1D<long, Stride1D.Dense> stepState;

    /// <summary>The committed counters the device holds after the last step enqueued; null before the first.</summary>
    (long Step, int GeneratorAdam, int DiscriminatorAdam)? committed;

    /// <summary>Both networks of <paramref name="config"/> on <paramref name="kernels"/>' device, initialised from its seed.</summary>
    public Gan(KernelSet kernels, GanConfig config)
    {
        this.kernels = kernels;
        Config = config;
        int b = config.BatchSize;
        if (config.Problem() is { } problem) throw new ArgumentOutOfRangeException(nameof(config), problem);
        // G runs once per step over both steps' z: its two batches of B rows.
        Generator = NewGenerator(kernels, config, 2 * b);
        if (config.GeneratorAverageDecay > 0) AverageGenerator = NewGenerator(kernels, config, b);
        // D sees the real and the fake batch as one batch of 2B rows: it has no BatchNorm, so this is the
        // seed's two calls D(x), D(G(z)) in half the launches. Dropout draws one mask over both, as PyTorch
        // would for the concatenated batch.
        Discriminator = new Discriminator(kernels, config.ImagePixels, config.DiscriminatorWidths, 2 * b,
            config.DiscriminatorDropout);
        var accelerator = kernels.Device.Accelerator;
        // D's batch, real then fake, then the G step's fake images: G writes both fakes in one pass.
        discriminatorBatch = accelerator.Allocate1D<float>(3L * b * config.ImagePixels);
        // D's z then G's, one buffer so that one launch draws both.
        noise = accelerator.Allocate1D<float>(2L * b * config.ZDim);
        dScores = accelerator.Allocate1D<float>(2L * b);
        dFake = accelerator.Allocate1D<float>((long)b * config.ImagePixels);
        statistics = accelerator.Allocate1D<float>((int)Statistic.Count);
        statistics.MemSetToZero();
        stepState = accelerator.Allocate1D<long>(StepState.Length);
    }

    /// <summary>The configuration the GAN was built with.</summary>
    public GanConfig Config { get; }
    /// <summary>The generator, G.</summary>
    public Generator Generator { get; }
    /// <summary>The discriminator, D.</summary>
    public Discriminator Discriminator { get; }

    /// <summary>
    /// The exponential moving average of <see cref="Generator"/>, null when the config has none: a generator of
    /// its own, so it samples with batch statistics through the same layers, and training never sees it.
    /// </summary>
    public Generator? AverageGenerator { get; }

    /// <summary>The generator that draws sample grids and samples: the average when there is one.</summary>
    public Generator SamplingGenerator => AverageGenerator ?? Generator;

    static Generator NewGenerator(KernelSet kernels, GanConfig config, int maxRows) =>
        new(kernels, config.ZDim, config.GeneratorWidths, config.ImagePixels, maxRows,
            config.BatchNormBeforeActivation, config.TanhOutput);

    /// <summary>Starts the average at G's current weights and running statistics (a new run's initial ones).</summary>
    public void StartAverage()
    {
        if (AverageGenerator is null) return;
        Generator.Store.AllParameters.CopyTo(AverageGenerator.Store.AllParameters);
        Generator.Store.AllState.CopyTo(AverageGenerator.Store.AllState);
    }

    /// <summary>The real images of the next D step, [B, pixels] in [−1, 1].</summary>
    public ArrayView<float> RealBatch => discriminatorBatch.View.SubView(0, (long)Config.BatchSize * Config.ImagePixels);
    /// <summary>The z of the next D step's fake batch, [B, zDim].</summary>
    public ArrayView<float> DiscriminatorNoise => noise.View.SubView(0, (long)Config.BatchSize * Config.ZDim);
    /// <summary>The fresh z of the next G step, [B, zDim].</summary>
    public ArrayView<float> GeneratorNoise => noise.View.SubView((long)Config.BatchSize * Config.ZDim, (long)Config.BatchSize * Config.ZDim);

    /// <summary>
    /// Global step <paramref name="step"/> of a run: its noise and its real batch in one launch (which advances the
    /// device's step counters), one iteration. Each launch's arguments are those of the step before, but for the epoch's shuffle
    /// at an epoch's first step and D's dropout streams. A run's first step, or one that does not follow the last
    /// (a resume), first writes the counters from the host: step − 1 and the stores' Adam steps, as a checkpoint
    /// holds them.
    /// </summary>
    public void TrainStep(DeviceDataset data, long step)
    {
        int steps = data.StepsPerEpoch(Config.BatchSize);
        if (committed != (step - 1, Generator.Store.AdamStep, Discriminator.Store.AdamStep))
            stepState.View.CopyFromCPU(StepState.Before(step, Generator.Store.AdamStep, Discriminator.Store.AdamStep));
        data.FillStepInputs(noise.View, new(Config.BatchSize * Config.ZDim, Config.Seed, RandomStreams.NoiseStreamBase,
            RandomStreams.NoiseStepShift), stepState.View, step, RealBatch, Config.BatchSize, Config.Seed);
        Iterate(step, (long)Config.LearningRateDecayFrom * steps, (long)Config.LearningRateDecayTo * steps);
    }

    /// <summary>Iteration <paramref name="step"/> on the current <see cref="RealBatch"/> and noise buffers; the step names D's dropout masks.</summary>
    public void Step(long step)
    {
        stepState.View.CopyFromCPU(StepState.Before(step, Generator.Store.AdamStep, Discriminator.Store.AdamStep));
        Iterate(step, 0, 0);
    }

    /// <remarks>
    /// G is not updated until the step's end, so its forward on the D step's z and on the G step's z is one pass over
    /// both as two batches, each normalised by its own statistics: the results of the seed's two passes, in the
    /// launches of one. The learning rates fall linearly to 0 from global step decayFrom to decayTo (none when To is
    /// not after From).
    /// </remarks>
    void Iterate(long step, long decayFrom, long decayTo)
    {
        int b = Config.BatchSize, pixels = Config.ImagePixels;
        Generator.Forward(noise.View, 2 * b, new ForwardContext(ForwardMode.Train, Batches: 2),
            output: discriminatorBatch.View.SubView((long)b * pixels, 2L * b * pixels));
        DiscriminatorStep(step, decayFrom, decayTo);
        GeneratorStep(step, decayFrom, decayTo);
    }

    void DiscriminatorStep(long step, long decayFrom, long decayTo)
    {
        int b = Config.BatchSize;
        var batch = discriminatorBatch.View.SubView(0, 2L * b * Config.ImagePixels);
        var logits = Discriminator.ForwardLogits(batch, 2 * b, new(ForwardMode.Train, Config.Seed, step, Pass: 0, StepState: stepState.View));
        // The loss's launch carries the gradient on through D's last Linear, a rank-one product.
        var logitLayer = Discriminator.LogitLayer(batch, 2 * b);
        kernels.Bce.SigmoidLossAndGradient(logits, dScores.View, 2 * b, b, Config.RealTarget, 0f, 1f, statistics.View,
            (int)Statistic.DiscriminatorLoss, (int)Statistic.RealScore, (int)Statistic.FakeScore, logitLayer);
        Discriminator.BackwardFromLogits(batch, dScores.View, 2 * b, parameterGradients: true,
            logitLayerInputGradientWritten: logitLayer is not null);
        AdamStep(Discriminator.Store, StepState.DiscriminatorAdam, decayFrom, decayTo, commit: false);
    }

    void GeneratorStep(long step, long decayFrom, long decayTo)
    {
        int b = Config.BatchSize, pixels = Config.ImagePixels;
        var fake = discriminatorBatch.View.SubView(2L * b * pixels, (long)b * pixels);
        var logits = Discriminator.ForwardLogits(fake, b, new(ForwardMode.Train, Config.Seed, step, Pass: 1, StepState: stepState.View));
        var (target, sign) = Config.Loss == GeneratorLoss.NonSaturating ? (1f, 1f) : (0f, -1f);
        var logitLayer = Discriminator.LogitLayer(fake, b, dFake.View);
        kernels.Bce.SigmoidLossAndGradient(logits, dScores.View.SubView(0, b), b, b, target, target, sign, statistics.View,
            (int)Statistic.GeneratorLoss, (int)Statistic.GeneratorFakeScore, (int)Statistic.GeneratorFakeScore, logitLayer);
        // Only dL/dG(z) is needed from D here: the seed zeroes D's gradients before its next step anyway.
        Discriminator.BackwardFromLogits(fake, dScores.View.SubView(0, b), b, parameterGradients: false, dInput: dFake.View,
            logitLayerInputGradientWritten: logitLayer is not null);
        Generator.Backward(GeneratorNoise, dFake.View, b, parameterGradients: true);
        // G's Adam is the step's last launch that reads the counters the average does not: it commits them.
        AdamStep(Generator.Store, StepState.GeneratorAdam, decayFrom, decayTo, commit: true);
        committed = (step, Generator.Store.AdamStep, Discriminator.Store.AdamStep);
        if (AverageGenerator is { } average)
            kernels.ExponentialAverage.StepUpdate(average.Store.AllParameters, Generator.Store.AllParameters,
                average.Store.AllState, Generator.Store.AllState, stepState.View,
                new(Config.GeneratorAverageDecay, Config.GeneratorAverageWarmup ? 1 : 0, StepState.GeneratorAdam));
    }

    /// <summary>
    /// One Adam step of a store; its step count t on the device is the store's <see cref="ParameterStore.AdamStep"/>,
    /// which the host counts alongside for checkpoints. The learning rate falls linearly to 0 from global step
    /// decayFrom to decayTo.
    /// </summary>
    void AdamStep(ParameterStore store, int counter, long decayFrom, long decayTo, bool commit)
    {
        store.AdamStep++;
        kernels.Adam.TrainingStep(store.AllParameters, store.AllGradients, store.AllAdamM, store.AllAdamV,
            store.Parameters.Length, Config.Adam, stepState.View, new(counter, decayFrom, decayTo, commit ? 1 : 0));
    }

    /// <summary>Every multiply of one <see cref="Step"/> (repeats included), as its two halves run the networks.</summary>
    public IEnumerable<GemmProblem> StepGemms()
    {
        int b = Config.BatchSize;
        return Generator.ForwardGemms(2 * b)
            .Concat(Discriminator.ForwardGemms(2 * b))
            .Concat(Discriminator.BackwardGemms(2 * b, parameterGradients: true, inputGradient: false))
            .Concat(Discriminator.ForwardGemms(b))
            .Concat(Discriminator.BackwardGemms(b, parameterGradients: false, inputGradient: true))
            .Concat(Generator.BackwardGemms(b, parameterGradients: true, inputGradient: false));
    }

    /// <summary>Reads and clears the device sums: one host round trip per progress update.</summary>
    public float[] TakeStatistics()
    {
        var sums = statistics.GetAsArray1D();
        statistics.MemSetToZero();
        return sums;
    }

    /// <summary>Frees the networks and the step's buffers.</summary>
    public void Dispose()
    {
        Generator.Dispose();
        AverageGenerator?.Dispose();
        Discriminator.Dispose();
        discriminatorBatch.Dispose();
        noise.Dispose();
        dScores.Dispose();
        dFake.Dispose();
        statistics.Dispose();
        stepState.Dispose();
    }
}

using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Tests;

/// <summary>
/// Whole training steps against PyTorch 1.13, in the manner of llm.c's test_gpt2: the seed's networks from
/// the same initial parameters, fed the same real batches and noise for five steps, must end with the same
/// losses, parameters, BatchNorm running statistics and Adam moments.
/// </summary>
public sealed class GoldenStepTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    /// <summary>
    /// Per-step losses and D's mean outputs, and every gradient of the first step (taken from identical
    /// parameters): 1e-4 of max(|reference|, the tensor's RMS). float32 sums in another order differ by ~1e-6;
    /// scaling by the RMS keeps elements that sit near zero from demanding more than float32 has.
    /// </summary>
    const double StepTolerance = 1e-4;

    /// <summary>
    /// The state after five steps is checked more loosely, because this GAN amplifies float32 rounding: Adam
    /// divides m by √v, so a gradient that is itself rounding error (a sum that cancels to ~1e-8) moves its
    /// parameter by up to lr in a direction rounding decides, and the generator's gradient, a small difference
    /// of D's responses, feels every such move. PyTorch against itself with only the summation order changed
    /// (D on the real and fake batches concatenated, as we run it) differs after five steps by up to 0.17 in an
    /// element of m and 0.22 of v (tests/reference/reorder_sensitivity.py). So: parameters element by element,
    /// within 1e-3 of max(|reference|, RMS) or 5% of the lr·steps they can have moved (BatchNorm's β starts at 0,
    /// so its RMS is that motion), a share of rounding-decided elements within lr·steps/2; m, v and the running
    /// statistics as whole tensors, by the norm of the error over the norm of the reference. Measured on the
    /// CPU accelerator: step losses 2.5e-6, first-step gradients 2.8e-5, m 1.6e-2, v 1.2e-2, running 1.3e-4.
    /// </summary>
    const double ParameterTolerance = 1e-3, MotionShare = 0.05;
    static readonly Dictionary<string, double> NormTolerance = new() { ["running"] = 1e-3, ["adam_m"] = 5e-2, ["adam_v"] = 5e-2 };
    const double CancellationShare = 0.005, CancellationSteps = 0.5;

    /// <summary>
    /// With BatchNorm right after a Linear (the recipe's BatchNorm before LeakyReLU), that Linear's bias cannot
    /// change G's output, because BatchNorm subtracts the batch mean: its gradient is 0 in exact arithmetic, and
    /// both sides compute rounding noise, which Adam, dividing m by √v, turns into steps of about ±lr in directions
    /// rounding decides. Such a bias's gradient and m must be noise, below RoundingShare of the RMS of all of G's
    /// first-step gradients (measured: 1.3e-6 of it here, 1.0e-6 in PyTorch), v below its square, and its value
    /// within RoundingMotionSteps·lr·steps.
    /// </summary>
    const double RoundingShare = 1e-4, RoundingMotionSteps = 3;

    /// <summary>
    /// golden_b16_recipe.bin's knobs, as make_golden.py's RECIPE: all the recipe knobs but D's dropout, whose masks
    /// PyTorch cannot draw; the average's decay is low enough that five steps move it measurably.
    /// </summary>
    static GanConfig WithRecipeKnobs(GanConfig config) => config with
    {
        TanhOutput = true,
        BatchNormBeforeActivation = true,
        Adam = config.Adam with { Beta1 = 0.5f },
        RealTarget = 0.9f,
        GeneratorAverageDecay = 0.8,
    };

    [TestCase("golden_b16.bin", false)]
    [TestCase("golden_b16_saturating.bin", false)]
    [TestCase("golden_b128.bin", false)]
    [TestCase("golden_b16_recipe.bin", true)]
    public void FiveStepsMatchPyTorch(string fileName, bool recipeKnobs)
    {
        var golden = GoldenFile.Load(fileName);
        var kernels = new KernelSet(Device);
        var config = new GanConfig
        {
            BatchSize = golden.Batch,
            Loss = golden.Saturating ? GeneratorLoss.Saturating : GeneratorLoss.NonSaturating,
        };
        if (recipeKnobs) config = WithRecipeKnobs(config);
        using var gan = new Gan(kernels, config);
        var initialValues = new UniformSource(GoldenFile.Uniform, GoldenFile.ParameterStream);
        gan.Generator.Initialize(initialValues);
        gan.Discriminator.Initialize(initialValues);
        gan.StartAverage();

        var roundingOnly = config.BatchNormBeforeActivation
            ? gan.Generator.Layers.OfType<Linear>().SkipLast(1).Select(linear => "G." + linear.BiasSlot.Name).ToHashSet()
            : [];
        double roundingBound = 0; // set from the first step's gradients
        var failures = new List<string>();
        for (int step = 0; step < golden.Steps; step++)
        {
            gan.RealBatch.CopyFromCPU(golden.RealBatch(step));
            gan.DiscriminatorNoise.CopyFromCPU(golden.Noise(step, 0));
            gan.GeneratorNoise.CopyFromCPU(golden.Noise(step, 1));
            gan.Step(step);
            var sums = gan.TakeStatistics();
            foreach (var (name, slot) in new[] { ("d_loss", Gan.Statistic.DiscriminatorLoss), ("g_loss", Gan.Statistic.GeneratorLoss),
                                                 ("d_real", Gan.Statistic.RealScore), ("d_fake", Gan.Statistic.FakeScore) })
                Compare(golden, $"step{step}.{name}", [sums[(int)slot]], StepTolerance, failures);
            if (step > 0) continue;
            // After a step D's gradients are its D step's (the G step asks D only for dL/dG(z)), G's its G step's.
            roundingBound = RoundingShare * Rms(gan.Generator.Store.AllGradients.GetAsArray());
            foreach (var (prefix, network) in Networks(gan))
            {
                var gradients = network.Store.AllGradients.GetAsArray();
                foreach (var slot in network.Store.Parameters.Slots)
                {
                    var name = $"step0.grad.{prefix}.{slot.Name}";
                    if (roundingOnly.Contains($"{prefix}.{slot.Name}")) CompareNoise(golden, name, Slice(gradients, slot), roundingBound, failures);
                    else Compare(golden, name, Slice(gradients, slot), StepTolerance, failures);
                }
            }
        }

        int compared = 0;
        foreach (var (prefix, network) in Networks(gan))
        {
            var store = network.Store;
            var parameters = store.AllParameters.GetAsArray();
            var m = store.AllAdamM.GetAsArray();
            var v = store.AllAdamV.GetAsArray();
            var state = store.AllState.GetAsArray();
            double motion = config.Adam.LearningRate * golden.Steps;
            foreach (var slot in store.Parameters.Slots)
            {
                var name = $"{prefix}.{slot.Name}";
                if (roundingOnly.Contains(name))
                {
                    Compare(golden, name, Slice(parameters, slot), ParameterTolerance, failures, absolute: RoundingMotionSteps * motion);
                    CompareNoise(golden, $"{name}.adam_m", Slice(m, slot), roundingBound, failures);
                    CompareNoise(golden, $"{name}.adam_v", Slice(v, slot), roundingBound * roundingBound, failures);
                }
                else
                {
                    Compare(golden, name, Slice(parameters, slot), ParameterTolerance, failures,
                        absolute: MotionShare * motion, cancellation: CancellationSteps * motion);
                    CompareNorm(golden, $"{name}.adam_m", Slice(m, slot), NormTolerance["adam_m"], failures);
                    CompareNorm(golden, $"{name}.adam_v", Slice(v, slot), NormTolerance["adam_v"], failures);
                }
                compared += 4; // with the step-0 gradient above
            }
            foreach (var slot in store.State.Slots)
            {
                CompareNorm(golden, $"{prefix}.{slot.Name}", Slice(state, slot), NormTolerance["running"], failures);
                compared++;
            }
        }
        if (gan.AverageGenerator is { Store: var average })
        {
            // The average is a blend of the parameters compared above: their tolerances carry over.
            var parameters = average.AllParameters.GetAsArray();
            var state = average.AllState.GetAsArray();
            double motion = config.Adam.LearningRate * golden.Steps;
            foreach (var slot in average.Parameters.Slots)
                Compare(golden, $"G_average.{slot.Name}", Slice(parameters, slot), ParameterTolerance, failures,
                    absolute: (roundingOnly.Contains($"G.{slot.Name}") ? RoundingMotionSteps : MotionShare) * motion,
                    cancellation: CancellationSteps * motion);
            foreach (var slot in average.State.Slots)
                CompareNorm(golden, $"G_average.{slot.Name}", Slice(state, slot), NormTolerance["running"], failures);
            compared += average.Parameters.Slots.Count + average.State.Slots.Count;
        }
        int expectedTensors = golden.Entries.Keys.Count(k => !k.EndsWith(":sumsq") && (!k.StartsWith("step") || k.StartsWith("step0.grad.")));
        Assert.That(compared, Is.EqualTo(expectedTensors), "every reference tensor has a counterpart");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    static (string, Network)[] Networks(Gan gan) => [("G", gan.Generator), ("D", gan.Discriminator)];

    static float[] Slice(float[] all, TensorSlot slot) => all.AsSpan(slot.Offset, slot.Length).ToArray();

    static double Rms(float[] values) => Math.Sqrt(values.Sum(x => (double)x * x) / values.Length);

    /// <summary>A tensor that is rounding noise on both sides: every element of ours and of the reference within the bound.</summary>
    static void CompareNoise(GoldenFile golden, string name, float[] actual, double bound, List<string> failures)
    {
        if (Find(golden, name, actual, failures) is not { } reference) return;
        double ours = actual.Max(x => Math.Abs((double)x)), theirs = reference.Values.Max(x => Math.Abs((double)x));
        TestContext.Out.WriteLine($"{name}: rounding noise, largest {ours:G3} here, {theirs:G3} in the reference, bound {bound:G3}");
        if (!(ours <= bound && theirs <= bound))
            failures.Add($"{name}: should be rounding noise within {bound:G3}, largest {ours:G3} here and {theirs:G3} in the reference");
    }

    /// <summary>
    /// Every stored element within tolerance·max(|reference|, RMS) or the absolute bound, and the tensor's sum
    /// of squares within tolerance relative. Up to CancellationShare of the elements may instead be off by at
    /// most the cancellation bound (rounding-decided Adam updates). Logs the worst error.
    /// </summary>
    static void Compare(GoldenFile golden, string name, float[] actual, double tolerance, List<string> failures,
        double absolute = 0, double cancellation = 0)
    {
        if (Find(golden, name, actual, failures) is not { } reference) return;
        double rms = Rms(actual);
        double worst = 0;
        int outliers = 0, allowed = (int)(CancellationShare * reference.Indices.Length);
        for (int j = 0; j < reference.Indices.Length; j++)
        {
            double expected = reference.Values[j], got = actual[reference.Indices[j]];
            double error = double.IsFinite(got) ? Math.Abs(got - expected) : double.PositiveInfinity;
            double relative = error / Math.Max(Math.Abs(expected), rms);
            if (relative <= tolerance || error <= absolute) { worst = Math.Max(worst, Math.Min(relative, tolerance)); continue; }
            if (error <= cancellation && ++outliers <= allowed) continue;
            failures.Add($"{name}[{reference.Indices[j]}]: expected {expected:G9}, got {got:G9} (relative error {relative:G3}, tolerance {tolerance})");
            return;
        }
        TestContext.Out.WriteLine($"{name}: worst relative error {worst:G3}, {outliers} rounding-decided elements");
        if (golden.Entries.TryGetValue(name + ":sumsq", out var sumsq))
        {
            double ours = actual.Sum(x => (double)x * x);
            if (!(Math.Abs(ours - sumsq.Values[0]) <= Math.Max(tolerance, 1e-4) * sumsq.Values[0]))
                failures.Add($"{name}: sum of squares {ours:G9}, reference {sumsq.Values[0]:G9}");
        }
    }

    /// <summary>‖ours − reference‖ / ‖reference‖ over the stored elements within tolerance.</summary>
    static void CompareNorm(GoldenFile golden, string name, float[] actual, double tolerance, List<string> failures)
    {
        if (Find(golden, name, actual, failures) is not { } reference) return;
        double error = 0, norm = 0;
        for (int j = 0; j < reference.Indices.Length; j++)
        {
            double expected = reference.Values[j], got = actual[reference.Indices[j]];
            error += (got - expected) * (got - expected);
            norm += expected * expected;
        }
        double relative = Math.Sqrt(error / norm);
        TestContext.Out.WriteLine($"{name}: relative error of the tensor {relative:G3}");
        if (!(relative <= tolerance)) failures.Add($"{name}: relative error of the tensor {relative:G3}, tolerance {tolerance}");
    }

    static GoldenFile.Entry? Find(GoldenFile golden, string name, float[] actual, List<string> failures)
    {
        if (!golden.Entries.TryGetValue(name, out var reference))
        {
            failures.Add($"{name}: not in the reference");
            return null;
        }
        if (reference.FullLength != actual.Length)
        {
            failures.Add($"{name}: {actual.Length} elements, reference has {reference.FullLength}");
            return null;
        }
        return reference;
    }
}

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
    /// Every element within 1e-4 of max(|reference|, the tensor's RMS): float32 sums in another order differ
    /// by ~1e-6 relative, and scaling by the RMS keeps elements that happen to sit near zero from demanding
    /// more than float32 has.
    /// </summary>
    const double Tolerance = 1e-4;

    /// <summary>
    /// Adam divides m by √v, so a gradient that is itself mostly rounding error (a sum that cancels to ~1e-8)
    /// still moves its parameter by up to lr a step, in a direction rounding decides. A parameter tensor may
    /// therefore hold a few such elements, off by a fraction of lr·steps; any real bug moves far more of them.
    /// </summary>
    const double CancellationShare = 0.002, CancellationSteps = 0.5;

    [TestCase("golden_b16.bin")]
    [TestCase("golden_b16_saturating.bin")]
    [TestCase("golden_b128.bin")]
    public void FiveStepsMatchPyTorch(string fileName)
    {
        var golden = GoldenFile.Load(fileName);
        var kernels = new KernelSet(Device);
        var config = new GanConfig
        {
            BatchSize = golden.Batch,
            Loss = golden.Saturating ? GeneratorLoss.Saturating : GeneratorLoss.NonSaturating,
        };
        using var gan = new Gan(kernels, config);
        int next = Initialization.LikePyTorch(gan.Generator, GoldenFile.Uniform, GoldenFile.ParameterStream);
        Initialization.LikePyTorch(gan.Discriminator, GoldenFile.Uniform, next);

        var failures = new List<string>();
        for (int step = 0; step < golden.Steps; step++)
        {
            gan.RealBatch.CopyFromCPU(golden.RealBatch(step));
            gan.DiscriminatorNoise.CopyFromCPU(golden.Noise(step, 0));
            gan.GeneratorNoise.CopyFromCPU(golden.Noise(step, 1));
            gan.Step();
            var sums = gan.TakeStatistics();
            Compare(golden, $"step{step}.d_loss", [sums[(int)Gan.Statistic.DiscriminatorLoss]], failures);
            Compare(golden, $"step{step}.g_loss", [sums[(int)Gan.Statistic.GeneratorLoss]], failures);
            Compare(golden, $"step{step}.d_real", [sums[(int)Gan.Statistic.RealScore]], failures);
            Compare(golden, $"step{step}.d_fake", [sums[(int)Gan.Statistic.FakeScore]], failures);
        }

        int compared = 0;
        foreach (var (prefix, network) in new (string, Network)[] { ("G", gan.Generator), ("D", gan.Discriminator) })
        {
            var store = network.Store;
            var parameters = store.AllParameters.GetAsArray();
            var m = store.AllAdamM.GetAsArray();
            var v = store.AllAdamV.GetAsArray();
            var state = store.AllState.GetAsArray();
            foreach (var slot in store.Parameters.Slots)
            {
                Compare(golden, $"{prefix}.{slot.Name}", Slice(parameters, slot), failures);
                Compare(golden, $"{prefix}.{slot.Name}.adam_m", Slice(m, slot), failures);
                Compare(golden, $"{prefix}.{slot.Name}.adam_v", Slice(v, slot), failures);
                compared += 3;
            }
            foreach (var slot in store.State.Slots)
            {
                Compare(golden, $"{prefix}.{slot.Name}", Slice(state, slot), failures);
                compared++;
            }
        }
        int expectedTensors = golden.Entries.Keys.Count(k => !k.StartsWith("step") && !k.EndsWith(":sumsq"));
        Assert.That(compared, Is.EqualTo(expectedTensors), "every reference tensor has a counterpart");
        Assert.That(failures, Is.Empty, string.Join("\n", failures.Take(20)));
    }

    static float[] Slice(float[] all, TensorSlot slot) => all.AsSpan(slot.Offset, slot.Length).ToArray();

    static void Compare(GoldenFile golden, string name, float[] actual, List<string> failures)
    {
        if (!golden.Entries.TryGetValue(name, out var reference))
        {
            failures.Add($"{name}: not in the reference");
            return;
        }
        if (reference.FullLength != actual.Length)
        {
            failures.Add($"{name}: {actual.Length} elements, reference has {reference.FullLength}");
            return;
        }
        double rms = Math.Sqrt(actual.Sum(x => (double)x * x) / actual.Length);
        bool adamUpdated = !name.StartsWith("step") && !name.Contains("running") && !name.Contains("adam_");
        double cancellationBound = CancellationSteps * AdamSettings.Seed.LearningRate * golden.Steps;
        int outliers = 0;
        for (int j = 0; j < reference.Indices.Length; j++)
        {
            double expected = reference.Values[j], got = actual[reference.Indices[j]];
            double error = Math.Abs(got - expected);
            if (error <= Tolerance * Math.Max(Math.Abs(expected), rms)) continue;
            if (adamUpdated && error <= cancellationBound && ++outliers <= CancellationShare * reference.Indices.Length) continue;
            failures.Add($"{name}[{reference.Indices[j]}]: expected {expected:G9}, got {got:G9} " +
                         $"(|error| {error:G3}, {outliers} elements past {Tolerance} relative)");
            return;
        }
        if (golden.Entries.TryGetValue(name + ":sumsq", out var sumsq))
        {
            double ours = actual.Sum(x => (double)x * x);
            if (!(Math.Abs(ours - sumsq.Values[0]) <= Tolerance * sumsq.Values[0]))
                failures.Add($"{name}: sum of squares {ours:G9}, reference {sumsq.Values[0]:G9}");
        }
    }
}

using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

public sealed class BatchNormTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const float Momentum = 0.8f;
    const float Eps = 1e-5f;

    BatchNorm For(KernelVariant variant) => ForVariant(variant, (device, v) => new BatchNorm(device, v));

    static readonly KernelVariant[] Variants = [KernelVariant.Portable, KernelVariant.CpuWorker];

    /// <summary>Each case once per variant, the variant as its last argument.</summary>
    static IEnumerable<object[]> PerVariant(IEnumerable<object[]> cases) =>
        from c in cases from variant in Variants select (object[])[.. c, variant];

    /// <summary>Training needs two rows for the unbiased variance; 2 is the edge where rows/(rows−1) is largest.</summary>
    static readonly int[] TrainingRows = [2, .. TestData.OddSizes.Where(rows => rows >= 2)];

    public static IEnumerable<object[]> TrainingShapes() =>
        from rows in TrainingRows from cols in TestData.OddSizes select new object[] { rows, cols };

    /// <summary>
    /// The odd shapes; one wide enough that every CPU worker has whole vectors and a tail is left; and one whose
    /// 257 rows leave a GPU group's 32 lanes uneven and whose 301 columns fill no whole tile of 8.
    /// </summary>
    public static IEnumerable<object[]> TrainingShapesPerVariant() =>
        PerVariant(TrainingShapes().Append([33, 301]).Append([257, 301]));

    /// <summary>
    /// Every training shape with momentum 0.8 and eps 1e-5, plus a large eps (PyTorch GAN code often passes 0.8
    /// as BatchNorm1d's second argument, which is eps) so eps misplaced outside the square root shows.
    /// </summary>
    public static IEnumerable<object[]> TrainingCases() =>
        PerVariant(TrainingShapes().Append([33, 301]).Append([257, 301]).Select(shape => new object[] { shape[0], shape[1], Momentum, Eps })
            .Append([33, 7, 0.1f, 0.8f])
            .Append([2, 100, 0.1f, 0.8f]));

    public static IEnumerable<object[]> EvalCases() =>
        (from rows in TestData.OddSizes from cols in TestData.OddSizes select new object[] { rows, cols, Eps })
            .Append([33, 7, 0.8f]);

    sealed record Inputs(float[] X, float[] Gamma, float[] Beta, float[] RunningMean, float[] RunningVar);

    /// <summary>Columns with their own nonzero mean and non-unit spread; γ of both signs; running stats not 0 and 1.</summary>
    static Inputs RandomInputs(Random rng, int rows, int cols)
    {
        var offset = TestData.Uniform(rng, cols, -3f, 3f);
        var spread = TestData.Uniform(rng, cols, 0.5f, 3f);
        var x = TestData.Gaussian(rng, rows * cols);
        for (int i = 0; i < x.Length; i++) x[i] = offset[i % cols] + spread[i % cols] * x[i];
        return new Inputs(x, TestData.Uniform(rng, cols, -2f, 2f), TestData.Uniform(rng, cols),
            TestData.Uniform(rng, cols), TestData.Uniform(rng, cols, 0.5f, 2f));
    }

    sealed record TrainOutputs(double[] Y, double[] Mean, double[] InvStd, double[] RunningMean, double[] RunningVar);

    /// <summary>PyTorch 1.13's training forward in float64.</summary>
    static TrainOutputs ReferenceTrainForward(Inputs a, int rows, int cols, double momentum, double eps)
    {
        var y = new double[rows * cols];
        var mean = new double[cols];
        var invStd = new double[cols];
        var runningMean = new double[cols];
        var runningVar = new double[cols];
        for (int c = 0; c < cols; c++)
        {
            for (int r = 0; r < rows; r++) mean[c] += a.X[r * cols + c];
            mean[c] /= rows;
            double squares = 0;
            for (int r = 0; r < rows; r++) squares += Math.Pow(a.X[r * cols + c] - mean[c], 2);
            invStd[c] = 1 / Math.Sqrt(squares / rows + eps);
            for (int r = 0; r < rows; r++)
                y[r * cols + c] = a.Gamma[c] * (a.X[r * cols + c] - mean[c]) * invStd[c] + a.Beta[c];
            runningMean[c] = (1 - momentum) * a.RunningMean[c] + momentum * mean[c];
            runningVar[c] = (1 - momentum) * a.RunningVar[c] + momentum * squares / (rows - 1);
        }
        return new TrainOutputs(y, mean, invStd, runningMean, runningVar);
    }

    /// <summary>PyTorch 1.13's training backward in float64, from the float statistics the kernel is given.</summary>
    static (double[] Dx, double[] DGamma, double[] DBeta) ReferenceBackward(float[] x, float[] dy, float[] gamma,
        float[] mean, float[] invStd, int rows, int cols)
    {
        var dx = new double[rows * cols];
        var dgamma = new double[cols];
        var dbeta = new double[cols];
        for (int c = 0; c < cols; c++)
        {
            double XHat(int r) => (x[r * cols + c] - (double)mean[c]) * invStd[c];
            for (int r = 0; r < rows; r++)
            {
                dbeta[c] += dy[r * cols + c];
                dgamma[c] += dy[r * cols + c] * XHat(r);
            }
            for (int r = 0; r < rows; r++)
                dx[r * cols + c] = (double)gamma[c] * invStd[c] * (dy[r * cols + c] - dbeta[c] / rows - XHat(r) * dgamma[c] / rows);
        }
        return (dx, dgamma, dbeta);
    }

    sealed record KernelTrainOutputs(float[] Y, float[] Mean, float[] InvStd, float[] RunningMean, float[] RunningVar);

    KernelTrainOutputs RunTrainForward(Inputs a, int rows, int cols, float momentum, float eps,
        KernelVariant variant = KernelVariant.Auto)
    {
        using var x = TestData.Upload(Device, a.X);
        using var gamma = TestData.Upload(Device, a.Gamma);
        using var beta = TestData.Upload(Device, a.Beta);
        using var runningMean = TestData.Upload(Device, a.RunningMean);
        using var runningVar = TestData.Upload(Device, a.RunningVar);
        using var y = TestData.Poisoned(Device, rows * cols);
        using var mean = TestData.Poisoned(Device, cols);
        using var invStd = TestData.Poisoned(Device, cols);

        For(variant).TrainForward(x.View, y.View, gamma.View, beta.View, mean.View, invStd.View, runningMean.View, runningVar.View,
            rows, cols, momentum, eps);

        return new KernelTrainOutputs(TestData.Download(y, rows * cols), TestData.Download(mean, cols),
            TestData.Download(invStd, cols), TestData.Download(runningMean, cols), TestData.Download(runningVar, cols));
    }

    [TestCaseSource(nameof(TrainingCases))]
    public void TrainForwardMatchesReference(int rows, int cols, float momentum, float eps, KernelVariant variant)
    {
        var inputs = RandomInputs(new Random(rows * 1000 + cols), rows, cols);

        var actual = RunTrainForward(inputs, rows, cols, momentum, eps, variant);

        // Float sums of ≤127 terms: the mean is off by a few ulps of |offset| ≤ 3, which x̂ = (x−mean)·invStd
        // scales by invStd ≤ 2 and y by |γ| ≤ 2; 1e-5 leaves a wide margin over that.
        var expected = ReferenceTrainForward(inputs, rows, cols, momentum, eps);
        TestData.AssertClose(expected.Y, actual.Y, 1e-5, 1e-5, "y");
        TestData.AssertClose(expected.Mean, actual.Mean, 1e-5, 1e-6, "saved mean");
        TestData.AssertClose(expected.InvStd, actual.InvStd, 1e-5, 0, "saved invstd");
        TestData.AssertClose(expected.RunningMean, actual.RunningMean, 1e-5, 1e-6, "running mean");
        TestData.AssertClose(expected.RunningVar, actual.RunningVar, 1e-5, 0, "running var");
    }

    /// <summary>
    /// Two batches in one launch against a launch per batch: each batch by its own statistics, saved at [batch, cols],
    /// and the running stats updated by the first batch, then the second. The same operations, so the same bits.
    /// </summary>
    [TestCase(33, 301, KernelVariant.Portable)]
    [TestCase(33, 301, KernelVariant.CpuWorker)]
    [TestCase(7, 5, KernelVariant.Portable)]
    public void TwoBatchesInOneLaunchMatchALaunchEach(int rows, int cols, KernelVariant variant)
    {
        var rng = new Random(rows + cols + 43);
        var first = RandomInputs(rng, rows, cols);
        var second = RandomInputs(rng, rows, cols) with { Gamma = first.Gamma, Beta = first.Beta };
        var one = RunTrainForward(first, rows, cols, Momentum, Eps, variant);
        var two = RunTrainForward(second with { RunningMean = one.RunningMean, RunningVar = one.RunningVar }, rows, cols,
            Momentum, Eps, variant);

        using var x = TestData.Upload(Device, [.. first.X, .. second.X]);
        using var gamma = TestData.Upload(Device, first.Gamma);
        using var beta = TestData.Upload(Device, first.Beta);
        using var runningMean = TestData.Upload(Device, first.RunningMean);
        using var runningVar = TestData.Upload(Device, first.RunningVar);
        using var y = TestData.Poisoned(Device, 2 * rows * cols);
        using var mean = TestData.Poisoned(Device, 2 * cols);
        using var invStd = TestData.Poisoned(Device, 2 * cols);
        For(variant).TrainForward(x.View, y.View, gamma.View, beta.View, mean.View, invStd.View, runningMean.View,
            runningVar.View, rows, cols, Momentum, Eps, batches: 2);

        Assert.That(TestData.Download(y, 2 * rows * cols), Is.EqualTo(one.Y.Concat(two.Y)), "y");
        Assert.That(TestData.Download(mean, 2 * cols), Is.EqualTo(one.Mean.Concat(two.Mean)), "saved mean");
        Assert.That(TestData.Download(invStd, 2 * cols), Is.EqualTo(one.InvStd.Concat(two.InvStd)), "saved invstd");
        Assert.That(TestData.Download(runningMean, cols), Is.EqualTo(two.RunningMean), "running mean");
        Assert.That(TestData.Download(runningVar, cols), Is.EqualTo(two.RunningVar), "running var");
    }

    [Test]
    public void TrainForwardRejectsASingleRow()
    {
        using var buffer = TestData.Poisoned(Device, 8);
        Assert.Throws<ArgumentOutOfRangeException>(() => For(KernelVariant.Auto).TrainForward(buffer.View, buffer.View, buffer.View,
            buffer.View, buffer.View, buffer.View, buffer.View, buffer.View, 1, 8, Momentum, Eps));
    }

    [TestCaseSource(nameof(EvalCases))]
    public void EvalForwardMatchesReference(int rows, int cols, float eps)
    {
        var a = RandomInputs(new Random(rows * 1000 + cols + 7), rows, cols);
        using var x = TestData.Upload(Device, a.X);
        using var gamma = TestData.Upload(Device, a.Gamma);
        using var beta = TestData.Upload(Device, a.Beta);
        using var runningMean = TestData.Upload(Device, a.RunningMean);
        using var runningVar = TestData.Upload(Device, a.RunningVar);
        using var y = TestData.Poisoned(Device, rows * cols);

        For(KernelVariant.Auto).EvalForward(x.View, y.View, gamma.View, beta.View, runningMean.View, runningVar.View, rows, cols, eps);

        var expected = new double[rows * cols];
        for (int i = 0; i < expected.Length; i++)
        {
            int c = i % cols;
            expected[i] = a.Gamma[c] * (a.X[i] - (double)a.RunningMean[c]) / Math.Sqrt(a.RunningVar[c] + (double)eps) + a.Beta[c];
        }
        TestData.AssertClose(expected, TestData.Download(y, rows * cols), 1e-5, 1e-6, "y");
    }

    /// <summary>Runs Backward with dx either its own buffer or the dy buffer itself.</summary>
    (float[] Dx, float[] DGamma, float[] DBeta) RunBackward(float[] x, float[] dy, float[] gamma, float[] mean,
        float[] invStd, int rows, int cols, bool dxAliasesDy, KernelVariant variant = KernelVariant.Auto)
    {
        using var xs = TestData.Upload(Device, x);
        using var dys = TestData.Upload(Device, dy);
        using var gammas = TestData.Upload(Device, gamma);
        using var means = TestData.Upload(Device, mean);
        using var invStds = TestData.Upload(Device, invStd);
        using var ownDx = TestData.Poisoned(Device, rows * cols);
        using var dgamma = TestData.Poisoned(Device, cols);
        using var dbeta = TestData.Poisoned(Device, cols);
        var dx = dxAliasesDy ? dys : ownDx;

        For(variant).Backward(xs.View, dys.View, gammas.View, means.View, invStds.View, dx.View, dgamma.View, dbeta.View, rows, cols);

        return (TestData.Download(dx, rows * cols), TestData.Download(dgamma, cols), TestData.Download(dbeta, cols));
    }

    [TestCaseSource(nameof(TrainingShapesPerVariant))]
    public void BackwardMatchesReference(int rows, int cols, KernelVariant variant)
    {
        var rng = new Random(rows * 1000 + cols + 13);
        var a = RandomInputs(rng, rows, cols);
        var dy = TestData.Uniform(rng, rows * cols);
        var stats = ReferenceTrainForward(a, rows, cols, Momentum, Eps);
        var mean = Array.ConvertAll(stats.Mean, v => (float)v);
        var invStd = Array.ConvertAll(stats.InvStd, v => (float)v);
        var expected = ReferenceBackward(a.X, dy, a.Gamma, mean, invStd, rows, cols);

        foreach (bool dxAliasesDy in new[] { false, true })
        {
            var (dx, dgamma, dbeta) = RunBackward(a.X, dy, a.Gamma, mean, invStd, rows, cols, dxAliasesDy, variant);
            // dx subtracts two column means from dy: its absolute error follows the float sums behind them,
            // a few ulps of values of size ≤ rows, scaled by |γ|·invStd ≤ 4.
            TestData.AssertClose(expected.Dx, dx, 1e-5, 1e-5, $"dx (aliasing dy: {dxAliasesDy})");
            TestData.AssertClose(expected.DGamma, dgamma, 1e-5, 1e-5, "dgamma");
            TestData.AssertClose(expected.DBeta, dbeta, 1e-5, 1e-5, "dbeta");
        }
    }

    /// <summary>
    /// dx, dγ and dβ against central differences of L = Σ dy·y, with y from the TrainForward kernel at each
    /// perturbed input, so the backward is pinned to what the forward kernel computes.
    /// </summary>
    [Test]
    public void BackwardMatchesFiniteDifferencesOfTrainForward()
    {
        const int rows = 7, cols = 3;
        const float h = 1e-2f;
        var rng = new Random(17);
        var a = RandomInputs(rng, rows, cols);
        var dy = TestData.Uniform(rng, rows * cols);

        double Loss(Inputs perturbed) =>
            RunTrainForward(perturbed, rows, cols, Momentum, Eps).Y.Select((v, i) => (double)dy[i] * v).Sum();

        // L along the elements of one input array.
        double[] Gradient(float[] values, Func<float[], Inputs> with) => FiniteDifference.Gradient(values, h, v => Loss(with(v)));

        var expectedDx = Gradient(a.X, x => a with { X = x });
        var expectedDGamma = Gradient(a.Gamma, gamma => a with { Gamma = gamma });
        var expectedDBeta = Gradient(a.Beta, beta => a with { Beta = beta });

        var forward = RunTrainForward(a, rows, cols, Momentum, Eps);
        var (dx, dgamma, dbeta) = RunBackward(a.X, dy, a.Gamma, forward.Mean, forward.InvStd, rows, cols, false);

        // Float rounding of L (size ~10) over a step of 2e-2 leaves ~1e-4; truncation (h²/6)·|L'''| is smaller
        // for spreads ≥ 0.5. Dropping any term of dx changes it by O(0.1).
        TestData.AssertClose(expectedDx, dx, 1e-2, 1e-3, "dx");
        TestData.AssertClose(expectedDGamma, dgamma, 1e-2, 1e-3, "dgamma");
        TestData.AssertClose(expectedDBeta, dbeta, 1e-2, 1e-3, "dbeta");
    }

    /// <summary>
    /// The CPU workers sum each column's rows in row order, one float operation at a time, as the scalar loop below
    /// does: the CPU accelerator's results, which the bit-identical resume and the golden budgets were measured
    /// with, must not move when the portable kernels change their order.
    /// </summary>
    [Test]
    public void CpuWorkersSumEachColumnInRowOrder()
    {
        RequireVariant(KernelVariant.CpuWorker);
        const int rows = 128, cols = 301;
        var rng = new Random(23);
        var a = RandomInputs(rng, rows, cols);
        var dy = TestData.Uniform(rng, rows * cols);
        var worker = RunTrainForward(a, rows, cols, Momentum, Eps, KernelVariant.CpuWorker);
        var backward = RunBackward(a.X, dy, a.Gamma, worker.Mean, worker.InvStd, rows, cols, true, KernelVariant.CpuWorker);
        for (int c = 0; c < cols; c++)
        {
            float sum = 0f;
            for (int r = 0; r < rows; r++) sum += a.X[r * cols + c];
            float mean = sum / rows, squares = 0f;
            for (int r = 0; r < rows; r++) squares += (a.X[r * cols + c] - mean) * (a.X[r * cols + c] - mean);
            float invStd = 1f / MathF.Sqrt(squares / rows + Eps);
            Assert.That(worker.Mean[c], Is.EqualTo(mean), $"mean[{c}]");
            Assert.That(worker.InvStd[c], Is.EqualTo(invStd), $"invstd[{c}]");
            Assert.That(worker.RunningVar[c], Is.EqualTo((1f - Momentum) * a.RunningVar[c] + Momentum * (squares / (rows - 1))), $"running var[{c}]");
            Assert.That(worker.Y[5 * cols + c], Is.EqualTo((a.X[5 * cols + c] - mean) * (a.Gamma[c] * invStd) + a.Beta[c]), $"y[5, {c}]");
            float sumDy = 0f, sumDyCentred = 0f;
            for (int r = 0; r < rows; r++)
            {
                sumDy += dy[r * cols + c];
                sumDyCentred += dy[r * cols + c] * (a.X[r * cols + c] - mean);
            }
            Assert.That(backward.DBeta[c], Is.EqualTo(sumDy), $"dbeta[{c}]");
            Assert.That(backward.DGamma[c], Is.EqualTo(sumDyCentred * invStd), $"dgamma[{c}]");
        }
    }

    /// <summary>
    /// The portable kernels' lanes meet in a tree of fixed order: the same inputs give the same bits at every
    /// launch, which the bit-identical resume of a run on a GPU needs.
    /// </summary>
    [Test]
    public void PortableKernelsGiveTheSameBitsAtEveryLaunch()
    {
        const int rows = 257, cols = 301;
        var rng = new Random(31);
        var a = RandomInputs(rng, rows, cols);
        var x = a.X.Select((v, i) => i % 13 == 0 ? 0f : v).ToArray();
        var dy = TestData.Uniform(rng, rows * cols);
        var first = RunTrainForward(a, rows, cols, Momentum, Eps, KernelVariant.Portable);
        var second = RunTrainForward(a, rows, cols, Momentum, Eps, KernelVariant.Portable);
        Assert.That(second, Is.EqualTo(first).Using<KernelTrainOutputs>((p, q) =>
            p.Y.SequenceEqual(q.Y) && p.Mean.SequenceEqual(q.Mean) && p.InvStd.SequenceEqual(q.InvStd)
            && p.RunningMean.SequenceEqual(q.RunningMean) && p.RunningVar.SequenceEqual(q.RunningVar)), "forward");
        var firstBackward = RunBackward(x, dy, a.Gamma, first.Mean, first.InvStd, rows, cols, true, KernelVariant.Portable);
        var secondBackward = RunBackward(x, dy, a.Gamma, first.Mean, first.InvStd, rows, cols, true, KernelVariant.Portable);
        Assert.That(secondBackward.Dx, Is.EqualTo(firstBackward.Dx), "dx");
        Assert.That(secondBackward.DGamma, Is.EqualTo(firstBackward.DGamma), "dgamma");
        Assert.That(secondBackward.DBeta, Is.EqualTo(firstBackward.DBeta), "dbeta");
    }

    /// <summary>
    /// The fused backward through the LeakyReLU that produced x against the two launches it replaces, BatchNorm's
    /// backward then the bias gradient through the LeakyReLU: the same float operations, so equal to the bit.
    /// x holds both signs and exact zeros, where the slope applies as PyTorch has it.
    /// </summary>
    [TestCaseSource(nameof(TrainingShapesPerVariant))]
    public void BackwardThroughLeakyReluMatchesBackwardThenBiasGradient(int rows, int cols, KernelVariant variant)
    {
        const float slope = 0.2f;
        var rng = new Random(rows * 1000 + cols + 19);
        var a = RandomInputs(rng, rows, cols);
        var x = a.X.Select((v, i) => i % 13 == 0 ? 0f : v > 0 ? v : slope * v).ToArray();
        var dy = TestData.Uniform(rng, rows * cols);
        var forward = RunTrainForward(a with { X = x }, rows, cols, Momentum, Eps, variant);
        var (dz, dgamma, dbeta) = RunBackward(x, dy, a.Gamma, forward.Mean, forward.InvStd, rows, cols, true, variant);
        using var activated = TestData.Upload(Device, x);
        using var dzs = TestData.Upload(Device, dz);
        using var dbias = TestData.Poisoned(Device, cols);
        new Bias(Device, variant).BackwardThroughLeakyRelu(activated.View, dzs.View, dbias.View, rows, cols, slope);

        using var xs = TestData.Upload(Device, x);
        using var dys = TestData.Upload(Device, dy);
        using var gammas = TestData.Upload(Device, a.Gamma);
        using var means = TestData.Upload(Device, forward.Mean);
        using var invStds = TestData.Upload(Device, forward.InvStd);
        using var fusedDgamma = TestData.Poisoned(Device, cols);
        using var fusedDbeta = TestData.Poisoned(Device, cols);
        using var fusedDbias = TestData.Poisoned(Device, cols);
        For(variant).BackwardThroughLeakyRelu(xs.View, dys.View, gammas.View, means.View, invStds.View, dys.View,
            fusedDgamma.View, fusedDbeta.View, fusedDbias.View, rows, cols, slope);

        Assert.That(TestData.Download(dys, rows * cols), Is.EqualTo(TestData.Download(dzs, rows * cols)), "dz");
        Assert.That(TestData.Download(fusedDbias, cols), Is.EqualTo(TestData.Download(dbias, cols)), "dbias");
        Assert.That(TestData.Download(fusedDgamma, cols), Is.EqualTo(dgamma), "dgamma");
        Assert.That(TestData.Download(fusedDbeta, cols), Is.EqualTo(dbeta), "dbeta");
    }

    [Test]
    public void BackwardThroughLeakyReluRejectsANegativeSlope()
    {
        using var buffer = TestData.Upload(Device, [1f, 1f]);
        Assert.Throws<ArgumentOutOfRangeException>(() => For(KernelVariant.Auto).BackwardThroughLeakyRelu(buffer.View,
            buffer.View, buffer.View, buffer.View, buffer.View, buffer.View, buffer.View, buffer.View, buffer.View, 2, 1, -0.1f));
    }
}

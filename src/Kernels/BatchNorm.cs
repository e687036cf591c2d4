using System.Numerics;
using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// BatchNorm1d over the rows (the batch) of a [rows, cols] matrix, one set of statistics per column, as
/// PyTorch 1.13 computes it. The portable training kernels reduce each column over its rows with many threads
/// and a fixed-order tree (<see cref="ColumnReduction"/>), reducing and writing in one launch. The CPU workers give
/// each core one contiguous slice of columns and walk down a SIMD vector of columns at a time, each column summing
/// its rows in order, without group barriers (they cost milliseconds on the CPU accelerator); so the two variants
/// differ by float reassociation.
/// </summary>
public sealed class BatchNorm
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, TrainShape> trainForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, int, int, float, float> evalForward;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
        ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int, int> backward;

    /// <summary>Loads BatchNorm's kernels on <paramref name="device"/>; <paramref name="variant"/> as <see cref="ComputeDevice.Resolve"/> resolves it.</summary>
    public BatchNorm(ComputeDevice device, KernelVariant variant = KernelVariant.Auto)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        Variant = device.Resolve(variant);
        bool cpu = Variant == KernelVariant.CpuWorker;
        trainForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, TrainShape>(
            cpu ? CpuTrainForwardKernel : TrainForwardKernel);
        evalForward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, int, int, float, float>(EvalForwardKernel);
        backward = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int, int>(
            cpu ? CpuBackwardKernel : BackwardKernel);
    }

    /// <summary>
    /// The training forward's scalars, one kernel argument (a launch takes at most 15): every field 4 bytes wide, so the
    /// layout is the same in .NET and on the devices. Public only because ILGPU's launcher must see a kernel's parameter types.
    /// </summary>
    public readonly record struct TrainShape(int Rows, int Cols, float Momentum, float Eps, int Batches, int ColumnsPerGroup,
        float Slope);

    /// <summary>The variant of the training kernels, Auto resolved; eval mode has only the portable kernel.</summary>
    public KernelVariant Variant { get; }

    /// <summary>The training kernels' launch: a CPU worker per core, or the portable kernels' groups of column tiles.</summary>
    (KernelConfig Config, int ColumnsPerGroup) Launch(int cols) =>
        Variant == KernelVariant.CpuWorker ? (device.CpuWorkers, 0) : ColumnReduction.Launch(device, cols);

    /// <summary>
    /// Training-mode BatchNorm1d over the rows (the batch) of x [rows, cols], per column: batch mean, biased
    /// variance to normalise, y = γ·(x−mean)/sqrt(var+eps) + β. Saves mean and 1/sqrt(var+eps) per column for
    /// backward. Running stats: running = (1−momentum)·running + momentum·batch, with the UNBIASED variance
    /// (var·rows/(rows−1)) as PyTorch does. y may not alias x. With <paramref name="batches"/> &gt; 1, x is that many
    /// batches of <paramref name="rows"/> rows one after another, each normalised by its own statistics (saved at
    /// [batch, cols]) and each updating the running stats in turn: the results of one launch per batch, in one.
    /// With <paramref name="leakyReluSlope"/> given, y is that LeakyReLU of the normalised value, as in
    /// BatchNorm1d → LeakyReLU: bit for bit what <see cref="Activations.LeakyReluForward"/> makes of it, in the
    /// same launch and pass.
    /// </summary>
    public void TrainForward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> savedMean, ArrayView<float> savedInvStd, ArrayView<float> runningMean, ArrayView<float> runningVar,
        int rows, int cols, float momentum, float eps, int batches = 1, float? leakyReluSlope = null)
    {
        long n = (long)batches * rows * cols, statistics = (long)batches * cols;
        Views.AtLeast(x, n); Views.AtLeast(y, n); Views.AtLeast(gamma, cols); Views.AtLeast(beta, cols);
        Views.AtLeast(savedMean, statistics); Views.AtLeast(savedInvStd, statistics); Views.AtLeast(runningMean, cols); Views.AtLeast(runningVar, cols);
        if (batches < 1) throw new ArgumentOutOfRangeException(nameof(batches), batches, "at least one batch");
        // PyTorch refuses too: "Expected more than 1 value per channel when training"; the unbiased variance
        // would divide by zero.
        if (rows < 2) throw new ArgumentOutOfRangeException(nameof(rows), rows, "BatchNorm training needs at least 2 rows");
        // x is read once from memory: the second and third walks down a column find it in cache.
        using var _ = device.Profile("batchnorm_train_forward", 7.0 * batches * rows * cols,
            batches * (8.0 * rows * cols + 40.0 * cols));
        var (config, columnsPerGroup) = Launch(cols);
        trainForward(config, x, y, gamma, beta, savedMean, savedInvStd, runningMean, runningVar,
            new(rows, cols, momentum, eps, batches, columnsPerGroup, ActivationSlope(leakyReluSlope)));
    }

    /// <summary>Eval-mode: normalise with the running stats, then the LeakyReLU when a slope is given, as TrainForward. y may be x.</summary>
    public void EvalForward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> runningMean, ArrayView<float> runningVar, int rows, int cols, float eps, float? leakyReluSlope = null)
    {
        long n = (long)rows * cols;
        Views.AtLeast(x, n); Views.AtLeast(y, n); Views.AtLeast(gamma, cols); Views.AtLeast(beta, cols);
        Views.AtLeast(runningMean, cols); Views.AtLeast(runningVar, cols);
        using var _ = device.Profile("batchnorm_eval_forward", 6.0 * n, 8.0 * n + 16.0 * cols);
        evalForward(device.GridStride(n), x, y, gamma, beta, runningMean, runningVar, rows, cols, eps,
            ActivationSlope(leakyReluSlope));
    }

    /// <summary>
    /// The kernels' activation slope: a slope of 1 is the identity, exactly, so that the activation is one select per
    /// element and no flag. A slope below 0 would make y's sign no longer tell where the normalised value was &gt; 0.
    /// </summary>
    static float ActivationSlope(float? leakyReluSlope) =>
        leakyReluSlope is not { } slope ? 1f
        : slope >= 0f ? slope
        : throw new ArgumentOutOfRangeException(nameof(leakyReluSlope), slope, "a fused LeakyReLU's slope is ≥ 0");


    /// <summary>
    /// Backward of TrainForward: dγ[c] = Σ_r dy·x̂, dβ[c] = Σ_r dy (written, not accumulated), and
    /// dx = γ·invStd·(dy − mean_r(dy) − x̂·mean_r(dy·x̂)). dx may alias dy.
    /// </summary>
    public void Backward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> gamma, ArrayView<float> savedMean,
        ArrayView<float> savedInvStd, ArrayView<float> dx, ArrayView<float> dgamma, ArrayView<float> dbeta, int rows, int cols)
    {
        Views.AtLeast(x, (long)rows * cols); Views.AtLeast(dy, (long)rows * cols); Views.AtLeast(gamma, cols); Views.AtLeast(savedMean, cols);
        Views.AtLeast(savedInvStd, cols); Views.AtLeast(dx, (long)rows * cols); Views.AtLeast(dgamma, cols); Views.AtLeast(dbeta, cols);
        // x and dy are read once from memory: the second walk down a column finds them in cache.
        using var _ = device.Profile("batchnorm_backward", 10.0 * rows * cols, 12.0 * rows * cols + 20.0 * cols);
        // A kernel cannot take a default view: dgamma stands in for dbias and is not written as one.
        var (config, columnsPerGroup) = Launch(cols);
        backward(config, x, dy, gamma, savedMean, savedInvStd, dx, dgamma, dbeta, dgamma, rows, cols, 0f, 0, columnsPerGroup);
    }

    /// <summary>
    /// <see cref="Backward"/> continued through the LeakyReLU that produced x, as in Linear → LeakyReLU →
    /// BatchNorm1d: dx becomes the gradient of the LeakyReLU's input, dx where x &gt; 0 and slope·dx elsewhere
    /// (for a slope ≥ 0, x &gt; 0 exactly where that input was), and dbias[c] = Σ_r dx[r,c] is the Linear's bias
    /// gradient. One launch and one pass over [rows, cols] for what took two, with the same float results.
    /// </summary>
    public void BackwardThroughLeakyRelu(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> gamma,
        ArrayView<float> savedMean, ArrayView<float> savedInvStd, ArrayView<float> dx, ArrayView<float> dgamma,
        ArrayView<float> dbeta, ArrayView<float> dbias, int rows, int cols, float slope)
    {
        Views.AtLeast(x, (long)rows * cols); Views.AtLeast(dy, (long)rows * cols); Views.AtLeast(gamma, cols); Views.AtLeast(savedMean, cols);
        Views.AtLeast(savedInvStd, cols); Views.AtLeast(dx, (long)rows * cols); Views.AtLeast(dgamma, cols); Views.AtLeast(dbeta, cols);
        Views.AtLeast(dbias, cols);
        if (!(slope >= 0f)) throw new ArgumentOutOfRangeException(nameof(slope), slope, "x tells where the input was > 0 only for a slope ≥ 0");
        using var _ = device.Profile("batchnorm_backward_through_leaky_relu", 12.0 * rows * cols, 12.0 * rows * cols + 24.0 * cols);
        var (config, columnsPerGroup) = Launch(cols);
        backward(config, x, dy, gamma, savedMean, savedInvStd, dx, dgamma, dbeta, dbias, rows, cols, slope, 1, columnsPerGroup);
    }

    /// <summary>
    /// A group per tile of columns (<see cref="ColumnReduction"/>): one walk for the column's shifted sum and squares,
    /// summed over the lanes in shared memory, then one writing y, which finds x in cache.
    /// </summary>
    [Kernel]
    static void TrainForwardKernel(ArrayView<float> xs, ArrayView<float> ys, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> savedMeans, ArrayView<float> savedInvStds, ArrayView<float> runningMean, ArrayView<float> runningVar,
        TrainShape shape)
    {
        var (rows, cols, momentum, eps, batches, columnsPerGroup, slope) = shape;
        var partial = SharedMemory.Allocate<float>(ColumnReduction.MaxGroupSize);
        int columns = columnsPerGroup, lanes = Group.DimX / columns, thread = Group.IdxX;
        int column = thread % columns, lane = thread / columns;
        int tiles = (cols + columns - 1) / columns;
        for (int tile = Grid.IdxX, step = Grid.DimX; tile < tiles; tile += step)
            // Batch after batch in one group: each column's running stats take the batches' updates in order.
            for (int batch = 0; batch < batches; batch++)
            {
                int c = tile * columns + column;
                bool owns = c < cols && lane < lanes;
                var x = xs.SubView((long)batch * rows * cols, (long)rows * cols);
                // One walk down the column: sums of x − K and its squares for K = the column's first x, then
                // Σ(x − mean)² = Σ(x − K)² − (Σ(x − K))²/rows. K lies within the column's spread, so the difference
                // keeps the precision that E[x²] − E[x]² loses when |mean| ≫ std.
                float shift = owns ? x[c] : 0f;
                float sum = 0f, squares = 0f;
                if (owns)
                    for (int r = lane; r < rows; r += lanes)
                    {
                        float shifted = x[r * cols + c] - shift;
                        sum += shifted;
                        squares += shifted * shifted;
                    }
                sum = ColumnReduction.Sum(partial, sum, column, lane, columns, lanes);
                squares = ColumnReduction.Sum(partial, squares, column, lane, columns, lanes);
                float shiftedMean = sum / rows;
                float mean = shift + shiftedMean;
                squares = XMath.Max(squares - sum * shiftedMean, 0f);
                if (owns)
                {
                    float invStd = 1f / MathF.Sqrt(squares / rows + eps);
                    float scale = gamma[c] * invStd;
                    float offset = beta[c];
                    var y = ys.SubView((long)batch * rows * cols, (long)rows * cols);
                    for (int r = lane; r < rows; r += lanes)
                        y[r * cols + c] = Activations.LeakyRelu((x[r * cols + c] - mean) * scale + offset, slope);
                    if (lane == 0)
                    {
                        savedMeans[batch * cols + c] = mean;
                        savedInvStds[batch * cols + c] = invStd;
                        runningMean[c] = (1f - momentum) * runningMean[c] + momentum * mean;
                        runningVar[c] = (1f - momentum) * runningVar[c] + momentum * (squares / (rows - 1));
                    }
                }
            }
    }

    static void TrainForwardColumn(ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> savedMean, ArrayView<float> savedInvStd, ArrayView<float> runningMean, ArrayView<float> runningVar,
        int rows, int cols, float momentum, float eps, float slope, int c)
    {
        float mean = Bias.ColumnSum(x, rows, cols, c) / rows;
        // Two passes, not E[x²] − E[x]²: that difference cancels catastrophically when |mean| ≫ std.
        float squares = 0f;
        for (int r = 0; r < rows; r++)
        {
            float centred = x[r * cols + c] - mean;
            squares += centred * centred;
        }
        float invStd = 1f / MathF.Sqrt(squares / rows + eps);
        float scale = gamma[c] * invStd;
        float shift = beta[c];
        for (int r = 0; r < rows; r++)
            y[r * cols + c] = Activations.LeakyRelu((x[r * cols + c] - mean) * scale + shift, slope);
        savedMean[c] = mean;
        savedInvStd[c] = invStd;
        runningMean[c] = (1f - momentum) * runningMean[c] + momentum * mean;
        runningVar[c] = (1f - momentum) * runningVar[c] + momentum * (squares / (rows - 1));
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuTrainForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> savedMean, ArrayView<float> savedInvStd, ArrayView<float> runningMean, ArrayView<float> runningVar,
        TrainShape shape)
    {
        var (rows, cols, momentum, eps, batches, _, slope) = shape;
        int worker = Grid.GlobalIndex.X, workers = GridStrideLoop.Step;
        // A worker owns its columns in every batch, so it alone applies their running stats' updates, in batch order.
        for (int batch = 0; batch < batches; batch++)
            CpuTrainForwardWorker(worker, workers, x.SubView((long)batch * rows * cols, (long)rows * cols),
                y.SubView((long)batch * rows * cols, (long)rows * cols), gamma, beta, savedMean.SubView((long)batch * cols, cols),
                savedInvStd.SubView((long)batch * cols, cols), runningMean, runningVar, rows, cols, momentum, eps, slope);
    }

    /// <summary>
    /// TrainForwardColumn for the worker's whole vectors of columns, with the same operations in the same order, but
    /// walking the rows: each pass streams the rows' contiguous runs of the worker's columns and keeps the per-column
    /// sums in savedMean and savedInvStd until they are final. Walking down a column instead read one vector from
    /// each of 128 rows a power-of-two stride apart, a new page and an L1 miss per load, with no prefetch. Columns
    /// past the last whole vector go through TrainForwardColumn itself.
    /// </summary>
    [External("ilgpugan_batchnorm_train_forward_cpu_worker")]
    static unsafe void CpuTrainForwardWorker(int worker, int workers, ArrayView<float> xView, ArrayView<float> yView,
        ArrayView<float> gammaView, ArrayView<float> betaView, ArrayView<float> savedMeanView, ArrayView<float> savedInvStdView,
        ArrayView<float> runningMeanView, ArrayView<float> runningVarView, int rows, int cols, float momentum, float eps,
        float slope)
    {
        float* x = CpuPointer.Of(xView), y = CpuPointer.Of(yView), gamma = CpuPointer.Of(gammaView), beta = CpuPointer.Of(betaView);
        float* savedMean = CpuPointer.Of(savedMeanView), savedInvStd = CpuPointer.Of(savedInvStdView);
        float* runningMean = CpuPointer.Of(runningMeanView), runningVar = CpuPointer.Of(runningVarView);
        var (begin, vectorEnd, end) = WorkerSlice.Of(worker, workers, cols);
        var rowCount = new Vector<float>(rows);
        var unbiasedCount = new Vector<float>(rows - 1);
        var epsilon = new Vector<float>(eps);
        var keep = new Vector<float>(1f - momentum);
        var take = new Vector<float>(momentum);
        var slopes = new Vector<float>(slope);
        // Without an activation (slope 1) the select is skipped: it would leave every element as it is.
        bool activate = slope != 1f;
        int width = Vector<float>.Count;
        for (int c = begin; c < vectorEnd; c += width) Vector<float>.Zero.Store(savedMean + c);
        for (int r = 0; r < rows; r++)
        {
            float* row = x + (long)r * cols;
            for (int c = begin; c < vectorEnd; c += width) (Vector.Load(savedMean + c) + Vector.Load(row + c)).Store(savedMean + c);
        }
        for (int c = begin; c < vectorEnd; c += width)
        {
            (Vector.Load(savedMean + c) / rowCount).Store(savedMean + c);
            Vector<float>.Zero.Store(savedInvStd + c);
        }
        for (int r = 0; r < rows; r++)
        {
            float* row = x + (long)r * cols;
            for (int c = begin; c < vectorEnd; c += width)
            {
                var centred = Vector.Load(row + c) - Vector.Load(savedMean + c);
                (Vector.Load(savedInvStd + c) + centred * centred).Store(savedInvStd + c);
            }
        }
        for (int c = begin; c < vectorEnd; c += width)
        {
            var mean = Vector.Load(savedMean + c);
            var squares = Vector.Load(savedInvStd + c);
            (Vector<float>.One / Vector.SquareRoot(squares / rowCount + epsilon)).Store(savedInvStd + c);
            (keep * Vector.Load(runningMean + c) + take * mean).Store(runningMean + c);
            (keep * Vector.Load(runningVar + c) + take * (squares / unbiasedCount)).Store(runningVar + c);
        }
        for (int r = 0; r < rows; r++)
        {
            float* row = x + (long)r * cols, output = y + (long)r * cols;
            for (int c = begin; c < vectorEnd; c += width)
            {
                var scale = Vector.Load(gamma + c) * Vector.Load(savedInvStd + c);
                var normalised = (Vector.Load(row + c) - Vector.Load(savedMean + c)) * scale + Vector.Load(beta + c);
                if (activate) normalised = Vector.ConditionalSelect(Vector.GreaterThan(normalised, Vector<float>.Zero), normalised, slopes * normalised);
                normalised.Store(output + c);
            }
        }
        for (int c = vectorEnd; c < end; c++)
            TrainForwardColumn(xView, yView, gammaView, betaView, savedMeanView, savedInvStdView, runningMeanView,
                runningVarView, rows, cols, momentum, eps, slope, c);
    }

    // Element-wise rather than by column: nothing is reduced, and a GPU gets rows·cols threads instead of cols.
    [Kernel]
    static void EvalForwardKernel(ArrayView<float> x, ArrayView<float> y, ArrayView<float> gamma, ArrayView<float> beta,
        ArrayView<float> runningMean, ArrayView<float> runningVar, int rows, int cols, float eps, float slope)
    {
        int n = rows * cols;
        int step = GridStrideLoop.Step;
        for (int i = Grid.GlobalIndex.X; i < n; i += step)
        {
            int c = i % cols;
            y[i] = Activations.LeakyRelu((x[i] - runningMean[c]) * (gamma[c] / MathF.Sqrt(runningVar[c] + eps)) + beta[c], slope);
        }
    }

    /// <summary>
    /// A group per tile of columns (<see cref="ColumnReduction"/>): Σ dy and Σ dy·(x − mean) in one walk down the
    /// column's rows, summed over the lanes in shared memory, then dx and, through the LeakyReLU, its column sum.
    /// PyTorch 1.13's training backward uses the saved invstd rather than recomputing it from the variance.
    /// throughLeakyRelu is an int: ILGPU takes only blittable kernel arguments, and bool is not one (ILGPU PR #966).
    /// </summary>
    [Kernel]
    static void BackwardKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> gamma, ArrayView<float> savedMean,
        ArrayView<float> savedInvStd, ArrayView<float> dx, ArrayView<float> dgamma, ArrayView<float> dbeta,
        ArrayView<float> dbias, int rows, int cols, float slope, int throughLeakyRelu, int columnsPerGroup)
    {
        var partial = SharedMemory.Allocate<float>(ColumnReduction.MaxGroupSize);
        int columns = columnsPerGroup, lanes = Group.DimX / columns, thread = Group.IdxX;
        int column = thread % columns, lane = thread / columns;
        int tiles = (cols + columns - 1) / columns;
        for (int tile = Grid.IdxX, step = Grid.DimX; tile < tiles; tile += step)
        {
            int c = tile * columns + column;
            bool owns = c < cols && lane < lanes;
            float mean = owns ? savedMean[c] : 0f;
            float invStd = owns ? savedInvStd[c] : 0f;
            float sumDy = 0f, sumDyCentred = 0f;
            if (owns)
                for (int r = lane; r < rows; r += lanes)
                {
                    float g = dy[r * cols + c];
                    sumDy += g;
                    sumDyCentred += g * (x[r * cols + c] - mean);
                }
            sumDy = ColumnReduction.Sum(partial, sumDy, column, lane, columns, lanes);
            sumDyCentred = ColumnReduction.Sum(partial, sumDyCentred, column, lane, columns, lanes);
            float sumDyXHat = sumDyCentred * invStd;
            float meanDy = sumDy / rows;
            float meanDyXHat = sumDyXHat / rows;
            float scale = owns ? gamma[c] * invStd : 0f;
            float sumDz = 0f;
            // Each thread reads dy[r,c] before writing dx[r,c], and every read of the sums above is behind their
            // barriers: dx may be dy.
            if (owns)
                for (int r = lane; r < rows; r += lanes)
                {
                    int i = r * cols + c;
                    float xi = x[i];
                    float xHat = (xi - mean) * invStd;
                    float d = scale * (dy[i] - meanDy - xHat * meanDyXHat);
                    if (throughLeakyRelu != 0)
                    {
                        d = xi > 0f ? d : slope * d;
                        sumDz += d;
                    }
                    dx[i] = d;
                }
            if (throughLeakyRelu != 0) sumDz = ColumnReduction.Sum(partial, sumDz, column, lane, columns, lanes);
            if (owns && lane == 0)
            {
                dgamma[c] = sumDyXHat;
                dbeta[c] = sumDy;
                if (throughLeakyRelu != 0) dbias[c] = sumDz;
            }
        }
    }

    static void BackwardColumn(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> gamma, ArrayView<float> savedMean,
        ArrayView<float> savedInvStd, ArrayView<float> dx, ArrayView<float> dgamma, ArrayView<float> dbeta,
        ArrayView<float> dbias, int rows, int cols, float slope, int throughLeakyRelu, int c)
    {
        float mean = savedMean[c];
        float invStd = savedInvStd[c];
        float sumDy = 0f, sumDyCentred = 0f;
        for (int r = 0; r < rows; r++)
        {
            float g = dy[r * cols + c];
            sumDy += g;
            sumDyCentred += g * (x[r * cols + c] - mean);
        }
        float sumDyXHat = sumDyCentred * invStd;
        dgamma[c] = sumDyXHat;
        dbeta[c] = sumDy;
        float meanDy = sumDy / rows;
        float meanDyXHat = sumDyXHat / rows;
        float scale = gamma[c] * invStd;
        float sumDz = 0f;
        // Each thread reads dy[r,c] before writing dx[r,c] and touches no other column, so dx may be dy.
        for (int r = 0; r < rows; r++)
        {
            int i = r * cols + c;
            float xHat = (x[i] - mean) * invStd;
            float d = scale * (dy[i] - meanDy - xHat * meanDyXHat);
            if (throughLeakyRelu != 0)
            {
                d = x[i] > 0f ? d : slope * d;
                sumDz += d;
            }
            dx[i] = d;
        }
        if (throughLeakyRelu != 0) dbias[c] = sumDz;
    }

    [Kernel(KernelVariant.CpuWorker)]
    static void CpuBackwardKernel(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> gamma, ArrayView<float> savedMean,
        ArrayView<float> savedInvStd, ArrayView<float> dx, ArrayView<float> dgamma, ArrayView<float> dbeta,
        ArrayView<float> dbias, int rows, int cols, float slope, int throughLeakyRelu, int columnsPerGroup) =>
        CpuBackwardWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, x, dy, gamma, savedMean, savedInvStd, dx, dgamma, dbeta,
            dbias, rows, cols, slope, throughLeakyRelu);

    /// <summary>
    /// BackwardColumn for the worker's whole vectors of columns, in the same order, walking the rows as the forward
    /// worker does: the column sums build up in dbeta, dgamma and dbias. The tail goes through BackwardColumn.
    /// </summary>
    /// <summary>Columns per block of the backward worker: its per-column constants, 12 KB, stay in L1 beside the rows.</summary>
    const int BackwardColumnBlock = 1024;

    [External("ilgpugan_batchnorm_backward_cpu_worker")]
    static unsafe void CpuBackwardWorker(int worker, int workers, ArrayView<float> xView, ArrayView<float> dyView,
        ArrayView<float> gammaView, ArrayView<float> savedMeanView, ArrayView<float> savedInvStdView, ArrayView<float> dxView,
        ArrayView<float> dgammaView, ArrayView<float> dbetaView, ArrayView<float> dbiasView, int rows, int cols, float slope,
        int throughLeakyRelu)
    {
        float* x = CpuPointer.Of(xView), dy = CpuPointer.Of(dyView), gamma = CpuPointer.Of(gammaView);
        float* savedMean = CpuPointer.Of(savedMeanView), savedInvStd = CpuPointer.Of(savedInvStdView);
        float* dx = CpuPointer.Of(dxView), dgamma = CpuPointer.Of(dgammaView), dbeta = CpuPointer.Of(dbetaView);
        float* dbias = CpuPointer.Of(dbiasView);
        var (begin, vectorEnd, end) = WorkerSlice.Of(worker, workers, cols);
        var rowCount = new Vector<float>(rows);
        var slopes = new Vector<float>(slope);
        int width = Vector<float>.Count;
        // Per column of a block: meanDy, meanDyXHat and gamma·invStd, formed once as BackwardColumn forms them.
        var perColumn = stackalloc float[3 * BackwardColumnBlock];
        float* meanDys = perColumn, meanDyXHats = perColumn + BackwardColumnBlock, scales = perColumn + 2 * BackwardColumnBlock;
        for (int block = begin; block < vectorEnd; block += BackwardColumnBlock)
        {
            int blockEnd = Math.Min(vectorEnd, block + BackwardColumnBlock);
            for (int c = block; c < blockEnd; c += width)
            {
                Vector<float>.Zero.Store(dbeta + c);
                Vector<float>.Zero.Store(dgamma + c);
                if (throughLeakyRelu != 0) Vector<float>.Zero.Store(dbias + c);
            }
            for (int r = 0; r < rows; r++)
            {
                float* xRow = x + (long)r * cols, dyRow = dy + (long)r * cols;
                for (int c = block; c < blockEnd; c += width)
                {
                    var g = Vector.Load(dyRow + c);
                    (Vector.Load(dbeta + c) + g).Store(dbeta + c);
                    (Vector.Load(dgamma + c) + g * (Vector.Load(xRow + c) - Vector.Load(savedMean + c))).Store(dgamma + c);
                }
            }
            for (int c = block; c < blockEnd; c += width)
            {
                var invStd = Vector.Load(savedInvStd + c);
                var sumDyXHat = Vector.Load(dgamma + c) * invStd;
                sumDyXHat.Store(dgamma + c);
                int at = c - block;
                (Vector.Load(dbeta + c) / rowCount).Store(meanDys + at);
                (sumDyXHat / rowCount).Store(meanDyXHats + at);
                (Vector.Load(gamma + c) * invStd).Store(scales + at);
            }
            // dx may be dy: each element of dy is read before its dx is written, and by this worker only.
            for (int r = 0; r < rows; r++)
            {
                long offset = (long)r * cols;
                for (int c = block; c < blockEnd; c += width)
                {
                    int at = c - block;
                    var xi = Vector.Load(x + offset + c);
                    var xHat = (xi - Vector.Load(savedMean + c)) * Vector.Load(savedInvStd + c);
                    var d = Vector.Load(scales + at) * (Vector.Load(dy + offset + c) - Vector.Load(meanDys + at) - xHat * Vector.Load(meanDyXHats + at));
                    if (throughLeakyRelu != 0)
                    {
                        d = Vector.ConditionalSelect(Vector.GreaterThan(xi, Vector<float>.Zero), d, slopes * d);
                        (Vector.Load(dbias + c) + d).Store(dbias + c);
                    }
                    d.Store(dx + offset + c);
                }
            }
        }
        for (int c = vectorEnd; c < end; c++)
            BackwardColumn(xView, dyView, gammaView, savedMeanView, savedInvStdView, dxView, dgammaView, dbetaView, dbiasView,
                rows, cols, slope, throughLeakyRelu, c);
    }
}

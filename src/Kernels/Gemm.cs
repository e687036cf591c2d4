using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>How <see cref="Gemm"/> computes: Auto picks CpuBlocked on the CPU accelerator, GpuTiled elsewhere.</summary>
public enum GemmVariant { Auto, GpuTiled, CpuBlocked }

/// <summary>
/// The matrix multiplies of a Linear layer: forward y = x·Wᵀ + b (transposeB), dX = dY·W, dW = dYᵀ·X (transposeA).
/// GpuTiled stages tiles of both operands in shared memory and gives each thread a 4×4 register tile.
/// CpuBlocked runs one thread per core over packed panels through raw pointers, because the CPU accelerator
/// runs the kernel's own .NET code: there group barriers are slow and every view access is range-checked.
/// </summary>
public sealed class Gemm : IDisposable
{
    /// <summary>GpuTiled: a 16×16 group of threads, each with a 4×4 register tile, covers a 64×64 tile of C.</summary>
    const int GpuGroupSide = 16;
    const int GpuMicroTile = 4;
    /// <summary>The k depth staged in shared memory per step.</summary>
    const int GpuTileDepth = 16;
    /// <summary>One past the widest tile, so that threads storing down a column of a tile hit different banks.</summary>
    const int GpuTileStride = GpuGroupSide * GpuMicroTile + 1;

    /// <summary>
    /// CpuBlocked register tile, 6 rows by 2 columns: 12 accumulators, 2 values of B, one of A and one product
    /// fill the 16 vector registers of x64 exactly. Wider tiles spill: measured on this project's 2-core AMD
    /// EPYC (AVX2), one thread, 6×2 reaches 10–11 GFLOP/s, 4×4 6–7.5, 4×3 about 6.
    /// </summary>
    const int CpuTileRows = 6;
    const int CpuTileCols = 2;
    /// <summary>C is dealt out to the workers in blocks; one block's packed A and B (for one k slice) stay in L2.</summary>
    const int CpuBlockRows = 22 * CpuTileRows;
    const int CpuBlockCols = 32 * CpuTileCols;
    const int CpuBlockDepth = 256;
    const int CpuTileFloats = CpuTileRows * CpuTileCols;
    const int CpuScratchPerWorker = (CpuBlockRows + CpuBlockCols) * CpuBlockDepth + CpuTileFloats;

    static readonly string[] ProfileNames = ["gemm_nn", "gemm_nt", "gemm_tn", "gemm_tt"];

    readonly GpuDevice device;
    readonly Action<KernelConfig, GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? gpuTiled;
    readonly Action<KernelConfig, GemmShape, long, long, long, long, long>? cpuBlocked;
    readonly MemoryBuffer1D<float, Stride1D.Dense>? cpuScratch;
    readonly Index2D gpuGroup;

    public Gemm(GpuDevice device, GemmVariant variant = GemmVariant.Auto)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        Variant = variant == GemmVariant.Auto ? (device.IsCpu ? GemmVariant.CpuBlocked : GemmVariant.GpuTiled) : variant;
        if (Variant == GemmVariant.CpuBlocked)
        {
            if (!device.IsCpu) throw new NotSupportedException("CpuBlocked reads host pointers: it runs only on the CPU accelerator");
            cpuBlocked = accelerator.LoadStreamKernel<GemmShape, long, long, long, long, long>(CpuBlockedKernel);
            cpuScratch = accelerator.Allocate1D<float>((long)CpuScratchPerWorker * accelerator.NumMultiprocessors);
        }
        else
        {
            gpuTiled = accelerator.LoadStreamKernel<GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GpuTiledKernel);
            // The project's CPU accelerator allows 2 threads per group: there the kernel runs 2×1 groups on 4×8 tiles.
            int groupX = Math.Min(GpuGroupSide, Math.Min(accelerator.MaxGroupSize.X, accelerator.MaxNumThreadsPerGroup));
            int groupY = Math.Min(GpuGroupSide, Math.Min(accelerator.MaxGroupSize.Y, accelerator.MaxNumThreadsPerGroup / groupX));
            gpuGroup = new Index2D(groupX, groupY);
        }
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public GemmVariant Variant { get; }

    /// <summary>
    /// C[m,n] = op(A)·op(B) (+ bias[n] per column when bias.Length &gt; 0) (+ the old C when accumulate).
    /// Row-major. op(A) is [m,k]: A is stored [m,k], or [k,m] when transposeA. op(B) is [k,n]: B is stored [k,n],
    /// or [n,k] when transposeB. C must not overlap A, B or bias.
    /// </summary>
    public void Multiply(ArrayView<float> a, bool transposeA, ArrayView<float> b, bool transposeB,
                         ArrayView<float> c, int m, int n, int k, bool accumulate = false, ArrayView<float> bias = default)
    {
        if (m < 1 || n < 1 || k < 1) throw new ArgumentOutOfRangeException(nameof(m), $"m, n, k must be positive, got {m}, {n}, {k}");
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n || (bias.Length > 0 && bias.Length < n))
            throw new ArgumentException($"views too short for m={m}, n={n}, k={k}: a {a.Length}, b {b.Length}, c {c.Length}, bias {bias.Length}");

        var shape = new GemmShape(m, n, k, transposeA, transposeB, accumulate, bias.Length > 0);
        using var _ = device.Profile(ProfileNames[(transposeA ? 2 : 0) + (transposeB ? 1 : 0)],
            2.0 * m * n * k, 4.0 * ((double)m * k + (double)k * n + (double)m * n));
        // A kernel cannot take a default view: without a bias, C stands in for it and is never read as one.
        var biasOrC = bias.Length > 0 ? bias : c;
        if (cpuBlocked is not null)
        {
            cpuBlocked(new KernelConfig(device.Accelerator.NumMultiprocessors, 1), shape,
                Address(a), Address(b), Address(c), Address(biasOrC), Address(cpuScratch!.View));
        }
        else
        {
            int tileRows = gpuGroup.Y * GpuMicroTile, tileCols = gpuGroup.X * GpuMicroTile;
            var groups = new Index2D((n + tileCols - 1) / tileCols, (m + tileRows - 1) / tileRows);
            gpuTiled!(new KernelConfig(groups, gpuGroup), shape, a, b, c, biasOrC);
        }
    }

    public void Dispose() => cpuScratch?.Dispose();

    static long Address(ArrayView<float> view) => view.LoadEffectiveAddressAsPtr().ToInt64();

    /// <summary>
    /// One multiply as the kernels see it. Both operands are read as "outer index × depth": element (i, p) of
    /// op(A) is at i·AOuterStride + p·ADepthStride, element (p, j) of op(B) at j·BOuterStride + p·BDepthStride,
    /// so one loader serves all four transpose combinations. Every field is 4 bytes wide so that the parameter
    /// layout is the same in .NET and on CUDA (ILGPU has had padding mismatches with narrower fields).
    /// Public only because the launcher ILGPU generates must see a kernel's parameter types.
    /// </summary>
    public readonly struct GemmShape
    {
        public readonly int M, N, K;
        public readonly int AOuterStride, ADepthStride, BOuterStride, BDepthStride;
        readonly int accumulate, hasBias;

        internal GemmShape(int m, int n, int k, bool transposeA, bool transposeB, bool accumulate, bool hasBias)
        {
            M = m; N = n; K = k;
            AOuterStride = transposeA ? 1 : k;
            ADepthStride = transposeA ? m : 1;
            BOuterStride = transposeB ? k : 1;
            BDepthStride = transposeB ? 1 : n;
            this.accumulate = accumulate ? 1 : 0;
            this.hasBias = hasBias ? 1 : 0;
        }

        public bool Accumulate => accumulate != 0;
        public bool HasBias => hasBias != 0;
    }

    /// <summary>c = sum (+ bias) (+ the old c): the output rule of both kernels.</summary>
    static void Store(ref float c, float sum, ref float bias, bool addOld, bool addBias)
    {
        if (addBias) sum += bias;
        if (addOld) sum += c;
        c = sum;
    }

    // ---------------------------------------------------------------- GpuTiled

    /// <summary>Four accumulators of one thread's micro-tile row.</summary>
    struct Row4(float x, float y, float z, float w)
    {
        public float X = x, Y = y, Z = z, W = w;

        public readonly Row4 MultiplyAdd(float a, Row4 b) => new(
            MathF.FusedMultiplyAdd(a, b.X, X), MathF.FusedMultiplyAdd(a, b.Y, Y),
            MathF.FusedMultiplyAdd(a, b.Z, Z), MathF.FusedMultiplyAdd(a, b.W, W));

        public readonly float this[int index] => index switch { 0 => X, 1 => Y, 2 => Z, _ => W };
    }

    /// <summary>
    /// One group computes a (4·DimY)×(4·DimX) tile of C. Per k step the group stages GpuTileDepth columns of
    /// op(A) and rows of op(B) in shared memory, then each thread updates its 4×4 register tile. A thread's rows
    /// are DimY apart and its columns DimX apart, so neighbouring threads read and write neighbouring addresses.
    /// </summary>
    static void GpuTiledKernel(GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias)
    {
        var tileA = SharedMemory.Allocate1D<float>(GpuTileDepth * GpuTileStride);
        var tileB = SharedMemory.Allocate1D<float>(GpuTileDepth * GpuTileStride);
        int tx = Group.IdxX, ty = Group.IdxY, dx = Group.DimX, dy = Group.DimY;
        int thread = ty * dx + tx, threads = dx * dy;
        int row0 = Grid.IdxY * dy * GpuMicroTile, col0 = Grid.IdxX * dx * GpuMicroTile;

        Row4 acc0 = default, acc1 = default, acc2 = default, acc3 = default;
        for (int depth0 = 0; depth0 < shape.K; depth0 += GpuTileDepth)
        {
            LoadTile(a, shape.AOuterStride, shape.ADepthStride, shape.M, shape.K, row0, dy * GpuMicroTile, depth0, tileA, thread, threads);
            LoadTile(b, shape.BOuterStride, shape.BDepthStride, shape.N, shape.K, col0, dx * GpuMicroTile, depth0, tileB, thread, threads);
            Group.Barrier();
            for (int p = 0; p < GpuTileDepth; p++)
            {
                int offset = p * GpuTileStride;
                var bRow = new Row4(tileB[offset + tx], tileB[offset + tx + dx], tileB[offset + tx + 2 * dx], tileB[offset + tx + 3 * dx]);
                acc0 = acc0.MultiplyAdd(tileA[offset + ty], bRow);
                acc1 = acc1.MultiplyAdd(tileA[offset + ty + dy], bRow);
                acc2 = acc2.MultiplyAdd(tileA[offset + ty + 2 * dy], bRow);
                acc3 = acc3.MultiplyAdd(tileA[offset + ty + 3 * dy], bRow);
            }
            Group.Barrier();
        }

        StoreRow(c, bias, shape, row0 + ty, col0 + tx, dx, acc0);
        StoreRow(c, bias, shape, row0 + ty + dy, col0 + tx, dx, acc1);
        StoreRow(c, bias, shape, row0 + ty + 2 * dy, col0 + tx, dx, acc2);
        StoreRow(c, bias, shape, row0 + ty + 3 * dy, col0 + tx, dx, acc3);
    }

    /// <summary>
    /// Stages tile[p·GpuTileStride + o] = X[outer0 + o, depth0 + p], zero past the matrix edges so that the
    /// inner loop needs no bounds checks. Consecutive threads read consecutive addresses of X, whichever of its
    /// indices is the contiguous one.
    /// </summary>
    static void LoadTile(ArrayView<float> source, int outerStride, int depthStride, int outerCount, int depthCount,
                         int outer0, int tileOuter, int depth0, ArrayView<float> tile, int thread, int threads)
    {
        bool depthContiguous = depthStride == 1;
        for (int e = thread; e < tileOuter * GpuTileDepth; e += threads)
        {
            int o = depthContiguous ? e / GpuTileDepth : e % tileOuter;
            int p = depthContiguous ? e % GpuTileDepth : e / tileOuter;
            int outer = outer0 + o, depth = depth0 + p;
            float value = 0f;
            if (outer < outerCount && depth < depthCount) value = source[(long)outer * outerStride + (long)depth * depthStride];
            tile[p * GpuTileStride + o] = value;
        }
    }

    /// <summary>Writes a thread's micro-tile row, whose columns are colStep apart, clipped to C.</summary>
    static void StoreRow(ArrayView<float> c, ArrayView<float> bias, GemmShape shape, int row, int col0, int colStep, Row4 values)
    {
        if (row >= shape.M) return;
        for (int t = 0; t < GpuMicroTile; t++)
        {
            int col = col0 + t * colStep;
            if (col < shape.N) Store(ref c[(long)row * shape.N + col], values[t], ref bias[col], shape.Accumulate, shape.HasBias);
        }
    }

    // ---------------------------------------------------------------- CpuBlocked

    /// <summary>
    /// Each worker (one per core) takes blocks of C in turn. Per CpuBlockDepth slice of k it packs the block's
    /// rows of op(A) and columns of op(B) into its own scratch, whatever the transposes, so that the register
    /// tiles then read both with unit stride.
    /// </summary>
    static unsafe void CpuBlockedKernel(GemmShape shape, long aAddress, long bAddress, long cAddress, long biasAddress,
                                        long scratchAddress)
    {
        float* c = (float*)cAddress, bias = (float*)biasAddress;
        float* packedA = (float*)scratchAddress + (long)Grid.GlobalIndex.X * CpuScratchPerWorker;
        float* packedB = packedA + CpuBlockRows * CpuBlockDepth;
        float* tile = packedB + CpuBlockCols * CpuBlockDepth;
        int blockRows = (shape.M + CpuBlockRows - 1) / CpuBlockRows;
        int blockCols = (shape.N + CpuBlockCols - 1) / CpuBlockCols;
        for (int block = Grid.GlobalIndex.X, step = GridStrideLoop.Step; block < blockRows * blockCols; block += step)
        {
            int row0 = block / blockCols * CpuBlockRows, col0 = block % blockCols * CpuBlockCols;
            int rows = Math.Min(CpuBlockRows, shape.M - row0), cols = Math.Min(CpuBlockCols, shape.N - col0);
            for (int depth0 = 0; depth0 < shape.K; depth0 += CpuBlockDepth)
            {
                int depth = Math.Min(CpuBlockDepth, shape.K - depth0);
                Pack((float*)aAddress, shape.AOuterStride, shape.ADepthStride, row0, rows, CpuTileRows, depth0, depth, packedA);
                Pack((float*)bAddress, shape.BOuterStride, shape.BDepthStride, col0, cols, CpuTileCols, depth0, depth, packedB);
                // The first k slice writes C (onto the old C when accumulating, with the bias); later ones add to it.
                bool addOld = depth0 > 0 || shape.Accumulate, addBias = depth0 == 0 && shape.HasBias;
                for (int i = 0; i < rows; i += CpuTileRows)
                {
                    for (int j = 0; j < cols; j += CpuTileCols)
                    {
                        MultiplyTile(packedA + i * depth, packedB + j * depth, depth, tile);
                        for (int r = 0; r < CpuTileRows && i + r < rows; r++)
                        {
                            float* cRow = c + (long)(row0 + i + r) * shape.N + col0 + j;
                            for (int q = 0; q < CpuTileCols && j + q < cols; q++)
                                Store(ref cRow[q], tile[r * CpuTileCols + q], ref bias[col0 + j + q], addOld, addBias);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// Copies X[outer0 .. outer0+outerCount, depth0 .. depth0+depth] as panels of `width` outer indices, each laid
    /// out [p][width]; outer indices past the edge are zero, so every register tile computes in full.
    /// </summary>
    static unsafe void Pack(float* source, int outerStride, int depthStride, int outer0, int outerCount, int width,
                            int depth0, int depth, float* packed)
    {
        for (int panel = 0; panel < outerCount; panel += width)
        {
            float* from = source + (long)(outer0 + panel) * outerStride + (long)depth0 * depthStride;
            int valid = Math.Min(width, outerCount - panel);
            for (int p = 0; p < depth; p++, from += depthStride)
                for (int t = 0; t < width; t++)
                    *packed++ = t < valid ? from[(long)t * outerStride] : 0f;
        }
    }

    /// <summary>
    /// tile[6×2] = packed A panel · packed B panel over `depth`. A separate multiply and add, not
    /// MathF.FusedMultiplyAdd: RyuJIT wraps every scalar FMA in register copies (7.5–8.3 against 9.4–10.6 GFLOP/s
    /// on one thread here), while this CPU's two multiply and two add pipes reach the same peak as its FMA pipes.
    /// </summary>
    static unsafe void MultiplyTile(float* packedA, float* packedB, int depth, float* tile)
    {
        float c00 = 0, c01 = 0, c10 = 0, c11 = 0, c20 = 0, c21 = 0, c30 = 0, c31 = 0, c40 = 0, c41 = 0, c50 = 0, c51 = 0;
        for (int p = 0; p < depth; p++, packedA += CpuTileRows, packedB += CpuTileCols)
        {
            float b0 = packedB[0], b1 = packedB[1];
            float a = packedA[0]; c00 += a * b0; c01 += a * b1;
            a = packedA[1]; c10 += a * b0; c11 += a * b1;
            a = packedA[2]; c20 += a * b0; c21 += a * b1;
            a = packedA[3]; c30 += a * b0; c31 += a * b1;
            a = packedA[4]; c40 += a * b0; c41 += a * b1;
            a = packedA[5]; c50 += a * b0; c51 += a * b1;
        }
        tile[0] = c00; tile[1] = c01; tile[2] = c10; tile[3] = c11; tile[4] = c20; tile[5] = c21;
        tile[6] = c30; tile[7] = c31; tile[8] = c40; tile[9] = c41; tile[10] = c50; tile[11] = c51;
    }
}

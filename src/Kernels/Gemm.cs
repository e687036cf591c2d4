using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// The matrix multiplies of a Linear layer: forward y = x·Wᵀ + b (transposeB), dX = dY·W, dW = dYᵀ·X (transposeA).
/// The portable kernel (GpuTiled) stages tiles of both operands in shared memory and gives each thread a 4×4
/// register tile. The CPU worker (CpuBlocked) runs one worker per core over packed panels through pointers
/// with SIMD register tiles, because the CPU accelerator runs the kernel's own .NET code: there group barriers are slow, every view
/// access is range-checked, and scalar code reaches a tenth of what the vector units do.
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

    static readonly string[] ProfileNames = ["gemm_nn", "gemm_nt", "gemm_tn", "gemm_tt"];

    readonly ComputeDevice device;
    readonly Action<KernelConfig, GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? gpuTiled;
    readonly Action<KernelConfig, GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? cpuBlocked;
    readonly MemoryBuffer1D<float, Stride1D.Dense>? cpuScratch;
    readonly Index2D gpuGroup;

    /// <param name="device">The accelerator.</param>
    /// <param name="variant">The implementation; Auto follows <see cref="ComputeDevice.Resolve"/>.</param>
    /// <param name="cpuVectorBits">The CPU worker's SIMD width, 256 or 512; by default the widest this CPU
    /// accelerates (tests run the narrower one too).</param>
    public Gemm(ComputeDevice device, KernelVariant variant = KernelVariant.Auto, int? cpuVectorBits = null)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        Variant = device.Resolve(variant);
        if (Variant == KernelVariant.CpuWorker)
        {
            CpuVectorBits = cpuVectorBits ?? (Vector512.IsHardwareAccelerated ? 512 : 256);
            if (CpuVectorBits is not (256 or 512))
                throw new ArgumentOutOfRangeException(nameof(cpuVectorBits), CpuVectorBits, "the CPU GEMM runs 256- or 512-bit vectors");
            cpuBlocked = accelerator.LoadStreamKernel<GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CpuBlockedKernel);
            int scratch = CpuVectorBits == 512 ? CpuBlocked<Lanes512, Vector512<float>>.ScratchPerWorker
                : CpuBlocked<Lanes256, Vector256<float>>.ScratchPerWorker;
            cpuScratch = accelerator.Allocate1D<float>((long)scratch * device.CpuWorkerCount);
        }
        else
        {
            gpuTiled = accelerator.LoadStreamKernel<GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GpuTiledKernel);
            // On the CPU accelerator a group is at most a thread per core: there the kernel runs groups of min(cores, 16)×1.
            int groupX = Math.Min(GpuGroupSide, Math.Min(accelerator.MaxGroupSize.X, accelerator.MaxNumThreadsPerGroup));
            int groupY = Math.Min(GpuGroupSide, Math.Min(accelerator.MaxGroupSize.Y, accelerator.MaxNumThreadsPerGroup / groupX));
            gpuGroup = new Index2D(groupX, groupY);
        }
    }

    /// <summary>The variant this instance runs, Auto resolved.</summary>
    public KernelVariant Variant { get; }

    /// <summary>The CPU worker's SIMD width in bits; 0 for the portable kernel.</summary>
    public int CpuVectorBits { get; }

    /// <summary>
    /// C[m,n] = act(op(A)·op(B) (+ bias[n] per column when bias.Length &gt; 0)),
    /// where act is LeakyReLU with <paramref name="leakyReluSlope"/> when one is given (a Linear layer's
    /// activation in the multiply's epilogue: one pass over C fewer), else the identity. Row-major. op(A) is
    /// [m,k]: A is stored [m,k], or [k,m] when transposeA. op(B) is [k,n]: B is stored [k,n], or [n,k] when
    /// transposeB. C must not overlap A, B or bias.
    /// </summary>
    public void Multiply(ArrayView<float> a, bool transposeA, ArrayView<float> b, bool transposeB,
                         ArrayView<float> c, int m, int n, int k, ArrayView<float> bias = default,
                         float? leakyReluSlope = null)
    {
        if (m < 1 || n < 1 || k < 1) throw new ArgumentOutOfRangeException(nameof(m), $"m, n, k must be positive, got {m}, {n}, {k}");
        if (a.Length < (long)m * k || b.Length < (long)k * n || c.Length < (long)m * n || (bias.Length > 0 && bias.Length < n))
            throw new ArgumentException($"views too short for m={m}, n={n}, k={k}: a {a.Length}, b {b.Length}, c {c.Length}, bias {bias.Length}");

        var shape = new GemmShape(m, n, k, transposeA, transposeB, bias.Length > 0, leakyReluSlope, CpuVectorBits);
        using var _ = device.Profile(ProfileNames[(transposeA ? 2 : 0) + (transposeB ? 1 : 0)],
            2.0 * m * n * k, 4.0 * ((double)m * k + (double)k * n + (double)m * n));
        // A kernel cannot take a default view: without a bias, C stands in for it and is never read as one.
        var biasOrC = bias.Length > 0 ? bias : c;
        if (cpuBlocked is not null)
        {
            cpuBlocked(device.CpuWorkers, shape, a, b, c, biasOrC, cpuScratch!.View);
        }
        else
        {
            int tileRows = gpuGroup.Y * GpuMicroTile, tileCols = gpuGroup.X * GpuMicroTile;
            var groups = new Index2D((n + tileCols - 1) / tileCols, (m + tileRows - 1) / tileRows);
            gpuTiled!(new KernelConfig(groups, gpuGroup), shape, a, b, c, biasOrC);
        }
    }

    public void Dispose() => cpuScratch?.Dispose();

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
        /// <summary>The LeakyReLU slope of the epilogue; read only when Activate.</summary>
        public readonly float Slope;
        /// <summary>The CPU worker's SIMD width in bits.</summary>
        public readonly int VectorBits;
        readonly int hasBias, activate;

        internal GemmShape(int m, int n, int k, bool transposeA, bool transposeB, bool hasBias, float? leakyReluSlope,
                           int vectorBits)
        {
            VectorBits = vectorBits;
            M = m; N = n; K = k;
            AOuterStride = transposeA ? 1 : k;
            ADepthStride = transposeA ? m : 1;
            BOuterStride = transposeB ? k : 1;
            BDepthStride = transposeB ? 1 : n;
            this.hasBias = hasBias ? 1 : 0;
            activate = leakyReluSlope.HasValue ? 1 : 0;
            Slope = leakyReluSlope ?? 0f;
        }

        public bool HasBias => hasBias != 0;
        public bool Activate => activate != 0;
    }

    // ---------------------------------------------------------------- GpuTiled

    /// <summary>Four accumulators of one thread's micro-tile row.</summary>
    struct Row4(float x, float y, float z, float w)
    {
        public float X = x, Y = y, Z = z, W = w;

        /// <summary>
        /// Written as a multiply and an add, not MathF.FusedMultiplyAdd: ILGPU 1.5.3 emits that runtime call as an
        /// unresolved external function on CUDA and OpenCL, while ptxas fuses mul.f32 + add.f32 into one FFMA.
        /// </summary>
        public readonly Row4 MultiplyAdd(float a, Row4 b) => new(X + a * b.X, Y + a * b.Y, Z + a * b.Z, W + a * b.W);

        public readonly float this[int index] => index switch { 0 => X, 1 => Y, 2 => Z, _ => W };
    }

    /// <summary>
    /// One group computes a (4·DimY)×(4·DimX) tile of C. Per k step the group stages GpuTileDepth columns of
    /// op(A) and rows of op(B) in shared memory, then each thread updates its 4×4 register tile. A thread's rows
    /// are DimY apart and its columns DimX apart, so neighbouring threads read and write neighbouring addresses.
    /// </summary>
    [Kernel]
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
            if (col >= shape.N) continue;
            float sum = values[t];
            if (shape.HasBias) sum += bias[col];
            if (shape.Activate && !(sum > 0f)) sum *= shape.Slope;
            c[(long)row * shape.N + col] = sum;
        }
    }

    // ---------------------------------------------------------------- CpuBlocked

    /// <summary>
    /// One worker per core. The body is <see cref="CpuBlockedWorker"/>, which ILGPU's frontend never sees: the CPU
    /// accelerator calls a kernel's own .NET method, so the worker runs as ordinary JIT-compiled code and may use
    /// SIMD, which ILGPU rejects inside a kernel.
    /// </summary>
    [Kernel(KernelVariant.CpuWorker)]
    static void CpuBlockedKernel(GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
                                 ArrayView<float> bias, ArrayView<float> scratch) =>
        CpuBlockedWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, shape, a, b, c, bias, scratch);

    /// <summary>
    /// .NET's Vector&lt;float&gt; stays 256 bits wide on AVX-512 CPUs, so the width is a type argument: one tile
    /// code, instantiated for each width, the JIT specialising it for the vector type.
    /// </summary>
    [External("ilgpugan_gemm_cpu_blocked_worker")]
    static unsafe void CpuBlockedWorker(int worker, int workers, GemmShape shape, ArrayView<float> a, ArrayView<float> b,
                                        ArrayView<float> c, ArrayView<float> bias, ArrayView<float> scratch)
    {
        if (shape.VectorBits == 512)
            CpuBlocked<Lanes512, Vector512<float>>.Run(worker, workers, shape, CpuPointer.Of(a), CpuPointer.Of(b),
                CpuPointer.Of(c), CpuPointer.Of(bias), CpuPointer.Of(scratch));
        else
            CpuBlocked<Lanes256, Vector256<float>>.Run(worker, workers, shape, CpuPointer.Of(a), CpuPointer.Of(b),
                CpuPointer.Of(c), CpuPointer.Of(bias), CpuPointer.Of(scratch));
    }

    /// <summary>The few vector operations the CPU GEMM needs, for one SIMD width.</summary>
    interface ILanes<TVector> where TVector : unmanaged
    {
        static abstract int Count { get; }
        static abstract unsafe TVector Load(float* source);
        static abstract unsafe void Store(TVector value, float* destination);
        static abstract TVector Broadcast(float value);
        /// <summary>a·b + c, rounded once.</summary>
        static abstract TVector MultiplyAdd(TVector a, TVector b, TVector c);
        static abstract TVector Add(TVector a, TVector b);
        /// <summary>x where x &gt; 0, slope·x elsewhere (NaN included, as the scalar epilogue).</summary>
        static abstract TVector LeakyRelu(TVector x, TVector slopes);
    }

    readonly struct Lanes256 : ILanes<Vector256<float>>
    {
        public static int Count => Vector256<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector256<float> Load(float* source) => Vector256.Load(source);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vector256<float> value, float* destination) => value.Store(destination);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Broadcast(float value) => Vector256.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LeakyRelu(Vector256<float> x, Vector256<float> slopes) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, x * slopes);
    }

    readonly struct Lanes512 : ILanes<Vector512<float>>
    {
        public static int Count => Vector512<float>.Count;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe Vector512<float> Load(float* source) => Vector512.Load(source);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static unsafe void Store(Vector512<float> value, float* destination) => value.Store(destination);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Broadcast(float value) => Vector512.Create(value);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LeakyRelu(Vector512<float> x, Vector512<float> slopes) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, x * slopes);
    }

    /// <summary>The blocked CPU multiply at one SIMD width.</summary>
    static class CpuBlocked<TLanes, TVector> where TLanes : struct, ILanes<TVector> where TVector : unmanaged
    {
        /// <summary>
        /// Register tile: 6 rows by two SIMD vectors of columns. 12 vector accumulators, 2 vectors of B and one
        /// broadcast of A fill the 16 vector registers of AVX2 (AVX-512 has 32).
        /// </summary>
        const int TileRows = 6;
        static readonly int TileCols = 2 * TLanes.Count;
        /// <summary>
        /// Each worker owns a contiguous run of C's columns, all rows. Per 256-deep k slice it takes a block of
        /// op(A)'s rows (packed when A is transposed) and uses it for every column block of its run. 22 row tiles
        /// make one block of the model's batch of 128 rows (two for 256), so op(B) is packed once per slice; a
        /// block of A (132 KB) and packed B (128 KB on AVX2) stay in L2.
        /// </summary>
        const int BlockRows = 22 * TileRows;
        static readonly int BlockCols = 8 * TileCols;
        const int BlockDepth = 256;
        /// <summary>Per worker: packed A, packed B, and one edge tile of C with its bias row.</summary>
        public static readonly int ScratchPerWorker = (BlockRows + BlockCols) * BlockDepth + (TileRows + 1) * TileCols;

        /// <summary>
        /// Worker <paramref name="worker"/> of <paramref name="workers"/> computes its columns of C. It packs columns
        /// of op(B), and rows of op(A) unless they are already contiguous in depth, into its own scratch, so that the
        /// register tiles read B with unit stride and A along its rows. Every element of C sums its k slices in
        /// order, whatever the split.
        /// </summary>
        public static unsafe void Run(int worker, int workers, GemmShape shape, float* a, float* b, float* c, float* bias,
                                      float* scratch)
        {
            int tiles = (shape.N + TileCols - 1) / TileCols;
            int colBegin = tiles * worker / workers * TileCols;
            int colEnd = Math.Min(shape.N, tiles * (worker + 1) / workers * TileCols);
            float* packedA = scratch + (long)worker * ScratchPerWorker;
            float* packedB = packedA + BlockRows * BlockDepth;
            float* edgeTile = packedB + BlockCols * BlockDepth;
            float* edgeBias = edgeTile + TileRows * TileCols;
            var tile = stackalloc TVector[2 * TileRows];
            bool readAInPlace = shape.ADepthStride == 1;
            for (int row0 = 0; row0 < shape.M && colBegin < colEnd; row0 += BlockRows)
            {
                int rows = Math.Min(BlockRows, shape.M - row0);
                for (int depth0 = 0; depth0 < shape.K; depth0 += BlockDepth)
                {
                    int depth = Math.Min(BlockDepth, shape.K - depth0);
                    // Rows of op(A) that are contiguous in depth (A not transposed) are read where they are, six
                    // streams that the prefetcher follows; only a last, partial panel is packed, zero-padded.
                    int inPlaceRows = readAInPlace ? rows / TileRows * TileRows : 0;
                    Pack(a, shape.AOuterStride, shape.ADepthStride, row0 + inPlaceRows, rows - inPlaceRows, TileRows, depth0,
                        depth, packedA + (long)inPlaceRows * depth);
                    // The first k slice writes C, with the bias; later ones add to it; the last applies the activation.
                    var epilogue = new Epilogue(depth0 > 0, depth0 == 0 && shape.HasBias,
                        depth0 + depth >= shape.K && shape.Activate, shape.Slope);
                    for (int col0 = colBegin; col0 < colEnd; col0 += BlockCols)
                    {
                        int cols = Math.Min(BlockCols, colEnd - col0);
                        Pack(b, shape.BOuterStride, shape.BDepthStride, col0, cols, TileCols, depth0, depth, packedB);
                        for (int i = 0; i < rows; i += TileRows)
                        {
                            for (int j = 0; j < cols; j += TileCols)
                            {
                                if (i < inPlaceRows)
                                    MultiplyTile(a + (long)(row0 + i) * shape.AOuterStride + depth0, shape.AOuterStride, 1,
                                        packedB + j * depth, depth, tile);
                                else
                                    MultiplyTile(packedA + i * depth, 1, TileRows, packedB + j * depth, depth, tile);
                                float* cTile = c + (long)(row0 + i) * shape.N + col0 + j;
                                int tileRows = Math.Min(TileRows, rows - i), tileCols = Math.Min(TileCols, cols - j);
                                if (tileRows == TileRows && tileCols == TileCols)
                                    epilogue.Store(tile, cTile, shape.N, bias + col0 + j);
                                else
                                    StoreEdge(tile, cTile, shape.N, bias + col0 + j, tileRows, tileCols, epilogue, edgeTile, edgeBias);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>How a k slice's tile of sums lands in C: onto the old C or not, with the bias or not, activated or not.</summary>
        readonly struct Epilogue(bool addOld, bool addBias, bool activate, float slope)
        {
            /// <summary>Writes a full TileRows × TileCols tile of sums into C, whose rows are cStride apart.</summary>
            public unsafe void Store(TVector* tile, float* c, int cStride, float* bias)
            {
                int width = TLanes.Count;
                var zero = TLanes.Broadcast(0f);
                var bias0 = addBias ? TLanes.Load(bias) : zero;
                var bias1 = addBias ? TLanes.Load(bias + width) : zero;
                var slopes = TLanes.Broadcast(slope);
                for (int r = 0; r < TileRows; r++, c += cStride)
                {
                    var sum0 = TLanes.Add(tile[2 * r], bias0);
                    var sum1 = TLanes.Add(tile[2 * r + 1], bias1);
                    if (addOld)
                    {
                        sum0 = TLanes.Add(sum0, TLanes.Load(c));
                        sum1 = TLanes.Add(sum1, TLanes.Load(c + width));
                    }
                    if (activate)
                    {
                        sum0 = TLanes.LeakyRelu(sum0, slopes);
                        sum1 = TLanes.LeakyRelu(sum1, slopes);
                    }
                    TLanes.Store(sum0, c);
                    TLanes.Store(sum1, c + width);
                }
            }
        }

        /// <summary>
        /// A tile clipped by the edge of C: its valid part (and bias) is copied into a full-size scratch tile, which
        /// takes the same epilogue, and copied back, so that no element outside C is read or written.
        /// </summary>
        static unsafe void StoreEdge(TVector* tile, float* c, int cStride, float* bias, int rows, int cols,
                                     Epilogue epilogue, float* edgeTile, float* edgeBias)
        {
            for (int q = 0; q < TileCols; q++) edgeBias[q] = q < cols ? bias[q] : 0f;
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++)
                    edgeTile[r * TileCols + q] = c[(long)r * cStride + q];
            epilogue.Store(tile, edgeTile, TileCols, edgeBias);
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++)
                    c[(long)r * cStride + q] = edgeTile[r * TileCols + q];
        }

        /// <summary>
        /// tile[2r], tile[2r+1] = row r of the A panel · packed B panel over `depth`, where element (r, p) of the panel is
        /// a[r·rowStride + p·depthStride] (a packed panel: 1 and TileRows; a row-major A read in place: its row
        /// stride and 1). Each product is one fused multiply-add of a broadcast element of A with two vectors of B,
        /// so every element of C still sums its k products in order, as the scalar reference does.
        /// </summary>
        static unsafe void MultiplyTile(float* a, long rowStride, long depthStride, float* packedB, int depth, TVector* tile)
        {
            int width = TLanes.Count;
            float* a0 = a, a1 = a + rowStride, a2 = a + 2 * rowStride, a3 = a + 3 * rowStride, a4 = a + 4 * rowStride, a5 = a + 5 * rowStride;
            TVector c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
            TVector c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
            for (long p = 0, at = 0; p < depth; p++, at += depthStride, packedB += 2 * width)
            {
                var b0 = TLanes.Load(packedB);
                var b1 = TLanes.Load(packedB + width);
                var x = TLanes.Broadcast(a0[at]); c00 = TLanes.MultiplyAdd(x, b0, c00); c01 = TLanes.MultiplyAdd(x, b1, c01);
                x = TLanes.Broadcast(a1[at]); c10 = TLanes.MultiplyAdd(x, b0, c10); c11 = TLanes.MultiplyAdd(x, b1, c11);
                x = TLanes.Broadcast(a2[at]); c20 = TLanes.MultiplyAdd(x, b0, c20); c21 = TLanes.MultiplyAdd(x, b1, c21);
                x = TLanes.Broadcast(a3[at]); c30 = TLanes.MultiplyAdd(x, b0, c30); c31 = TLanes.MultiplyAdd(x, b1, c31);
                x = TLanes.Broadcast(a4[at]); c40 = TLanes.MultiplyAdd(x, b0, c40); c41 = TLanes.MultiplyAdd(x, b1, c41);
                x = TLanes.Broadcast(a5[at]); c50 = TLanes.MultiplyAdd(x, b0, c50); c51 = TLanes.MultiplyAdd(x, b1, c51);
            }
            tile[0] = c00; tile[1] = c01; tile[2] = c10; tile[3] = c11; tile[4] = c20; tile[5] = c21;
            tile[6] = c30; tile[7] = c31; tile[8] = c40; tile[9] = c41; tile[10] = c50; tile[11] = c51;
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
            if (outerStride == 1)
            {
                // The outer index is the contiguous one (a row of B, a column of Aᵀ): copy runs of `valid`.
                for (int p = 0; p < depth; p++, from += depthStride, packed += width)
                {
                    new ReadOnlySpan<float>(from, valid).CopyTo(new Span<float>(packed, valid));
                    new Span<float>(packed + valid, width - valid).Clear();
                }
                continue;
            }
            // The depth index is the contiguous one (outerStride ≠ 1 only where depthStride is 1).
            if (width <= TransposeBlock)
            {
                for (int p = 0; p < depth; p++, from++)
                    for (int t = 0; t < width; t++)
                        *packed++ = t < valid ? from[(long)t * outerStride] : 0f;
                continue;
            }
            // Eight outer indices at a time: the model's strides are powers of two, and the 16 or 32 rows of a
            // panel of B, read together, would fall in one L1 set and evict each other before their next elements are read.
            for (int group = 0; group < width; group += TransposeBlock, from += (long)TransposeBlock * outerStride)
            {
                int rows = Math.Min(TransposeBlock, width - group);
                int validRows = Math.Clamp(valid - group, 0, rows);
                float* to = packed + group;
                int p = 0;
                if (Avx.IsSupported && validRows == TransposeBlock)
                    for (; p + TransposeBlock <= depth; p += TransposeBlock)
                        Transpose8x8(from + p, outerStride, to + (long)p * width, width);
                for (; p < depth; p++)
                    for (int t = 0; t < rows; t++)
                        to[(long)p * width + t] = t < validRows ? from[(long)t * outerStride + p] : 0f;
            }
            packed += (long)width * depth;
        }
    }

    /// <summary>The side of the blocks <see cref="Pack"/> transposes: one 256-bit vector of floats.</summary>
    const int TransposeBlock = 8;

    /// <summary>
    /// to[j·toStride + i] = from[i·fromStride + j] for an 8×8 block, in registers: the classic unpack, shuffle and
    /// lane-permute sequence, 24 shuffles for 64 elements where the scalar loop loads and stores each one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static unsafe void Transpose8x8(float* from, int fromStride, float* to, int toStride)
    {
        var r0 = Avx.LoadVector256(from);
        var r1 = Avx.LoadVector256(from + fromStride);
        var r2 = Avx.LoadVector256(from + 2L * fromStride);
        var r3 = Avx.LoadVector256(from + 3L * fromStride);
        var r4 = Avx.LoadVector256(from + 4L * fromStride);
        var r5 = Avx.LoadVector256(from + 5L * fromStride);
        var r6 = Avx.LoadVector256(from + 6L * fromStride);
        var r7 = Avx.LoadVector256(from + 7L * fromStride);
        // Pairs of rows interleaved, then quadruples: s0 holds columns 0 and 4 of rows 0–3 (low and high lane), s4 of rows 4–7.
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var s0 = Avx.Shuffle(t0, t2, 0x44); var s1 = Avx.Shuffle(t0, t2, 0xEE);
        var s2 = Avx.Shuffle(t1, t3, 0x44); var s3 = Avx.Shuffle(t1, t3, 0xEE);
        var s4 = Avx.Shuffle(t4, t6, 0x44); var s5 = Avx.Shuffle(t4, t6, 0xEE);
        var s6 = Avx.Shuffle(t5, t7, 0x44); var s7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(to, Avx.Permute2x128(s0, s4, 0x20));
        Avx.Store(to + toStride, Avx.Permute2x128(s1, s5, 0x20));
        Avx.Store(to + 2L * toStride, Avx.Permute2x128(s2, s6, 0x20));
        Avx.Store(to + 3L * toStride, Avx.Permute2x128(s3, s7, 0x20));
        Avx.Store(to + 4L * toStride, Avx.Permute2x128(s0, s4, 0x31));
        Avx.Store(to + 5L * toStride, Avx.Permute2x128(s1, s5, 0x31));
        Avx.Store(to + 6L * toStride, Avx.Permute2x128(s2, s6, 0x31));
        Avx.Store(to + 7L * toStride, Avx.Permute2x128(s3, s7, 0x31));
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ILGPU;
using ILGPU.Frontend;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>The portable GEMM's tile of C per group on a GPU: Large is 64×64, Small 32×32; Auto chooses by shape.</summary>
public enum GemmTile
{
    /// <summary>Chosen by shape at each multiply.</summary>
    Auto,
    /// <summary>The large tile.</summary>
    Large,
    /// <summary>The small tile.</summary>
    Small,
}

/// <summary>
/// The matrix multiplies of a Linear layer: forward y = x·Wᵀ + b (transposeB), dX = dY·W, dW = dYᵀ·X (transposeA).
/// The portable kernel (GpuTiled) stages slices of both operands in shared memory and gives each thread a 4×4
/// register tile, in a large or a small tile of C chosen by shape. The CPU worker (CpuBlocked) runs one worker per
/// core over packed panels through pointers with SIMD register tiles, because the CPU accelerator runs the kernel's
/// own .NET code: there group barriers are slow, every view access is range-checked, and scalar code reaches a
/// tenth of what the vector units do.
/// </summary>
public sealed class Gemm : IDisposable
{
    /// <summary>The side of a thread's register tile in the portable kernel.</summary>
    const int GpuMicroTile = 4;
    /// <summary>
    /// The k depth staged in shared memory per slice: 32 steps of 16 FFMA each is 512 FFMA per barrier, enough to
    /// outweigh a slice's loads, stores and the epilogue in the instruction stream (SassTests).
    /// </summary>
    const int GpuSliceDepth = 32, SliceDepthBits = 5;
    /// <summary>The group side of the two portable kernels on a GPU: 16×16 threads cover 64×64 of C, 8×8 cover 32×32.</summary>
    const int LargeTileSide = 16, SmallTileSide = 8;

    static readonly string[] ProfileNames = ["gemm_nn", "gemm_nt", "gemm_tn", "gemm_tt"];

    readonly ComputeDevice device;
    readonly Action<KernelConfig, GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? gpuLargeTile, gpuSmallTile;
    readonly Action<KernelConfig, GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? cpuBlocked;
    readonly MemoryBuffer1D<float, Stride1D.Dense>? cpuScratch;
    readonly Index2D gpuLargeGroup, gpuSmallGroup;
    readonly GemmTile tile;

    /// <param name="device">The accelerator.</param>
    /// <param name="variant">The implementation; Auto follows <see cref="ComputeDevice.Resolve"/>.</param>
    /// <param name="cpuVectorBits">The CPU worker's SIMD width, 256 or 512; by default the widest this CPU
    /// accelerates (tests run the narrower one too).</param>
    /// <param name="tile">The portable kernel's tile; Auto chooses by shape at each multiply (<see cref="ChooseTile"/>).</param>
    public Gemm(ComputeDevice device, KernelVariant variant = KernelVariant.Auto, int? cpuVectorBits = null,
                GemmTile tile = GemmTile.Auto)
    {
        this.device = device;
        this.tile = tile;
        var accelerator = device.Accelerator;
        Variant = device.Resolve(variant);
        if (Variant == KernelVariant.CpuWorker)
        {
            CpuVectorBits = cpuVectorBits ?? (Vector512.IsHardwareAccelerated ? 512 : 256);
            if (CpuVectorBits is not (256 or 512))
                throw new ArgumentOutOfRangeException(nameof(cpuVectorBits), CpuVectorBits, "the CPU GEMM runs 256- or 512-bit vectors");
            cpuBlocked = accelerator.LoadStreamKernel<GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(CpuBlockedKernel);
            int scratch = CpuVectorBits == 512 ? CpuBlocked<Lanes512, Vector512<float>>.ScratchPerWorker
                : CpuBlocked<Lanes256, Vector256<float>>.ScratchPerWorker;
            cpuScratch = accelerator.Allocate1D<float>((long)scratch * device.CpuWorkerCount);
        }
        else
        {
            gpuLargeTile = accelerator.LoadStreamKernel<GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GpuLargeTileKernel);
            gpuSmallTile = accelerator.LoadStreamKernel<GemmShape, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(GpuSmallTileKernel);
            gpuLargeGroup = GroupOf(accelerator, LargeTileSide);
            gpuSmallGroup = GroupOf(accelerator, SmallTileSide);
        }
    }

    /// <summary>A side×side group where the device allows it; on the CPU accelerator a group is at most a thread per core.</summary>
    static Index2D GroupOf(Accelerator accelerator, int side)
    {
        int groupX = Math.Min(side, Math.Min(accelerator.MaxGroupSize.X, accelerator.MaxNumThreadsPerGroup));
        int groupY = Math.Min(side, Math.Min(accelerator.MaxGroupSize.Y, accelerator.MaxNumThreadsPerGroup / groupX));
        return new Index2D(groupX, groupY);
    }

    /// <summary>
    /// The portable kernel's tile for C[m, n] on a GPU of <paramref name="multiprocessors"/> SMs or compute units:
    /// the large tile while it gives every multiprocessor a group, else the small one, which makes four times the
    /// groups. At batch 128 the model's multiplies have m = 128 or 256 rows: the large tile makes 2–32 groups of
    /// most of them, fewer than an H100's 132 SMs, and each group walks all of k alone.
    /// </summary>
    public static GemmTile ChooseTile(int m, int n, int multiprocessors) =>
        GpuGroups(GemmTile.Large, m, n) >= multiprocessors ? GemmTile.Large : GemmTile.Small;

    /// <summary>The groups the portable kernel launches for C[m, n] with full-size groups (a GPU's).</summary>
    public static long GpuGroups(GemmTile tile, int m, int n)
    {
        if (tile == GemmTile.Auto) throw new ArgumentOutOfRangeException(nameof(tile), tile, "a tile, not Auto");
        long side = GpuMicroTile * (tile == GemmTile.Large ? LargeTileSide : SmallTileSide);
        return (m + side - 1) / side * ((n + side - 1) / side);
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
    /// With <paramref name="leakyReluOutput"/> [m,n] given, the epilogue is instead LeakyReLU's backward at that
    /// activated output, C[i,j] = op(A)·op(B) where leakyReluOutput[i,j] &gt; 0, slope·(op(A)·op(B)) elsewhere:
    /// the input gradient of a Linear layer carried through the LeakyReLU fused into the layer before it, bit for
    /// bit what <see cref="Activations.LeakyReluBackward"/> makes of C, in the same launch. It takes no bias.
    /// With <paramref name="rowSums"/> [m] given, the multiply also writes rowSums[i] = Σ_p op(A)[i,p], summed in p
    /// order: for a Linear's weight gradient dW = dYᵀ·X, the bias gradient db = Σ_rows dY, in the same launch. The
    /// portable kernel computes it as one more column of C, the product with a column of ones past op(B)'s last,
    /// in the large tile only (the small one has no instructions to spare, SassTests); the CPU worker as a column
    /// sum in row order, bit for bit <see cref="Bias.Backward"/>'s. It takes no bias and no activation.
    /// </summary>
    public void Multiply(ArrayView<float> a, bool transposeA, ArrayView<float> b, bool transposeB,
                         ArrayView<float> c, int m, int n, int k, ArrayView<float> bias = default,
                         float? leakyReluSlope = null, ArrayView<float> leakyReluOutput = default,
                         ArrayView<float> rowSums = default)
    {
        if (m < 1 || n < 1 || k < 1) throw new ArgumentOutOfRangeException(nameof(m), $"m, n, k must be positive, got {m}, {n}, {k}");
        Views.AtLeast(a, (long)m * k); Views.AtLeast(b, (long)k * n); Views.AtLeast(c, (long)m * n);
        if (bias.Length > 0) Views.AtLeast(bias, n);
        if (leakyReluOutput.Length > 0) Views.AtLeast(leakyReluOutput, (long)m * n);
        if (rowSums.Length > 0) Views.AtLeast(rowSums, m);
        bool gated = leakyReluOutput.Length > 0;
        if (gated && (bias.Length > 0 || leakyReluSlope is null))
            throw new ArgumentException("LeakyReLU's backward in the epilogue takes its slope and no bias");
        bool sumRows = rowSums.Length > 0;
        if (sumRows && (rowSums.Length < m || bias.Length > 0 || leakyReluSlope is not null))
            throw new ArgumentException($"row sums take a view of m = {m} ({rowSums.Length} given), no bias and no activation");

        if (cpuBlocked is null && ((long)m * k > int.MaxValue || (long)k * n > int.MaxValue || (long)m * n > int.MaxValue))
            throw new ArgumentException($"the portable GEMM indexes its matrices with 32-bit offsets: m·k, k·n and m·n must be below 2³¹, got m={m}, n={n}, k={k}");

        var shape = new GemmShape(m, n, k, transposeA, transposeB, bias.Length > 0, leakyReluSlope, gated, sumRows, CpuVectorBits);
        using var _ = device.Profile(ProfileNames[(transposeA ? 2 : 0) + (transposeB ? 1 : 0)],
            2.0 * m * n * k, 4.0 * ((double)m * k + (double)k * n + (double)m * n));
        // A kernel cannot take a default view: without a bias, C stands in for it and is never read as one.
        // The row sums take the bias's place, which they exclude.
        var biasOrC = sumRows ? rowSums : bias.Length > 0 ? bias : c;
        var gateOrC = gated ? leakyReluOutput : c;
        if (cpuBlocked is not null)
        {
            cpuBlocked(device.CpuWorkers, shape, a, b, c, biasOrC, gateOrC, cpuScratch!.View);
        }
        else
        {
            bool large = sumRows || (tile == GemmTile.Auto ? ChooseTile(m, n, device.Accelerator.NumMultiprocessors) : tile) == GemmTile.Large;
            var group = large ? gpuLargeGroup : gpuSmallGroup;
            int tileRows = group.Y * GpuMicroTile, tileCols = group.X * GpuMicroTile;
            // The row sums are column n of C, past its edge.
            int columns = sumRows ? n + 1 : n;
            var groups = new Index2D((columns + tileCols - 1) / tileCols, (m + tileRows - 1) / tileRows);
            (large ? gpuLargeTile : gpuSmallTile)!(new KernelConfig(groups, group), shape, a, b, c, biasOrC, gateOrC);
        }
    }

    /// <summary>Frees the CPU worker's scratch memory.</summary>
    public void Dispose() => cpuScratch?.Dispose();

    /// <summary>
    /// One multiply as the kernels see it. Both operands are read as "outer index × depth": element (i, p) of
    /// op(A) is at i·AOuterStride + p·ADepthStride, element (p, j) of op(B) at j·BOuterStride + p·BDepthStride,
    /// so one loader serves all four transpose combinations. Every field is 4 bytes wide so that the parameter
    /// layout is the same in .NET and on CUDA (ILGPU has had padding mismatches with narrower fields).
    /// Public only because the launcher ILGPU generates must see a kernel's parameter types.
    /// </summary>
    internal readonly struct GemmShape
    {
        public readonly int M, N, K;
        public readonly int AOuterStride, ADepthStride, BOuterStride, BDepthStride;
        /// <summary>The LeakyReLU slope of the epilogue; read only when Activate or Gated.</summary>
        public readonly float Slope;
        /// <summary>The CPU worker's SIMD width in bits.</summary>
        public readonly int VectorBits;
        readonly int hasBias, activate, gated, sumRows;

        internal GemmShape(int m, int n, int k, bool transposeA, bool transposeB, bool hasBias, float? leakyReluSlope,
                           bool gated, bool sumRows, int vectorBits)
        {
            VectorBits = vectorBits;
            M = m; N = n; K = k;
            AOuterStride = transposeA ? 1 : k;
            ADepthStride = transposeA ? m : 1;
            BOuterStride = transposeB ? k : 1;
            BDepthStride = transposeB ? 1 : n;
            this.hasBias = hasBias ? 1 : 0;
            activate = leakyReluSlope.HasValue && !gated ? 1 : 0;
            this.gated = gated ? 1 : 0;
            this.sumRows = sumRows ? 1 : 0;
            Slope = leakyReluSlope ?? 0f;
        }

        public bool HasBias => hasBias != 0;
        /// <summary>The epilogue is LeakyReLU: the slope applies where C is ≤ 0.</summary>
        public bool Activate => activate != 0;
        /// <summary>The epilogue is LeakyReLU's backward: the slope applies where the gate view (an activated output, laid out as C) is ≤ 0.</summary>
        public bool Gated => gated != 0;
        /// <summary>The multiply also writes the row sums of op(A) into the bias view.</summary>
        public bool SumRows => sumRows != 0;
    }

    // ---------------------------------------------------------------- GpuTiled

    /// <summary>
    /// Four consecutive floats: a row of a thread's register tile, or four outer indices of a staged slice at one
    /// depth. 16 bytes, so ILGPU aligns it to 16 in shared memory and moves it with one ld.shared.v4 / st.shared.v4
    /// (one 128-bit LDS / STS in the SASS), where four floats read one by one are four instructions.
    /// </summary>
    struct Row4(float x, float y, float z, float w)
    {
        public float X = x, Y = y, Z = z, W = w;

        /// <summary>
        /// Written as a multiply and an add, not MathF.FusedMultiplyAdd: ILGPU 1.5.3 emits that runtime call as an
        /// unresolved external function on CUDA and OpenCL, while ptxas fuses mul.f32 + add.f32 into one FFMA.
        /// </summary>
        public readonly Row4 MultiplyAdd(float a, Row4 b) => new(X + a * b.X, Y + a * b.Y, Z + a * b.Z, W + a * b.W);
    }

    /// <summary>One thread's 4×4 register tile of C: four rows, each four consecutive columns.</summary>
    struct Tile4x4(Row4 r0, Row4 r1, Row4 r2, Row4 r3)
    {
        public Row4 R0 = r0, R1 = r1, R2 = r2, R3 = r3;

        /// <summary>Adds the outer product of a column of op(A) (four rows) and a row of op(B) (four columns): 16 FFMA.</summary>
        public readonly Tile4x4 MultiplyAdd(Row4 a, Row4 b) =>
            new(R0.MultiplyAdd(a.X, b), R1.MultiplyAdd(a.Y, b), R2.MultiplyAdd(a.Z, b), R3.MultiplyAdd(a.W, b));
    }

    /// <summary>A 64×64 tile of C per 16×16 group: the most reuse of each staged element.</summary>
    [Kernel]
    static void GpuLargeTileKernel(GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias,
                                   ArrayView<float> gate) =>
        GpuTiled(LargeTileSide, shape, a, b, c, bias, gate);

    /// <summary>A 32×32 tile of C per 8×8 group: four times the groups for the skinny multiplies.</summary>
    [Kernel]
    static void GpuSmallTileKernel(GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias,
                                   ArrayView<float> gate) =>
        GpuTiled(SmallTileSide, shape, a, b, c, bias, gate);

    /// <summary>
    /// One group computes a (4·DimY)×(4·DimX) tile of C; each thread a 4×4 register tile, rows 4·IdxY.. and
    /// columns 4·IdxX... The k dimension goes by slices of GpuSliceDepth, staged in shared memory two buffers deep:
    /// each thread issues its global loads of slice s into registers, multiplies out slice s − 1 from one buffer
    /// while they are in flight, then stores them into the other, so one barrier per slice suffices. ILGPU 1.5.3
    /// unrolls no loop, so the slice's 32 k steps are written out (<see cref="MultiplySlice"/>): 512 FFMA per
    /// barrier. <paramref name="side"/> is the group's side on a GPU, a constant in each kernel; a device whose
    /// groups are smaller (the CPU accelerator) runs the same code, loading the quads left over unstaged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void GpuTiled(int side, GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, ArrayView<float> bias,
                         ArrayView<float> gate)
    {
        // One Row4 past the tile's width per depth, so that threads storing different depths of the same outer
        // indices hit different banks (their addresses are 4·(side + 1) words apart).
        int rowStride = side + 1, bufferSize = GpuSliceDepth * rowStride, staged = GpuSliceDepth / side;
        var tileA = SharedMemory.Allocate1D<Row4>(2 * GpuSliceDepth * (side + 1));
        var tileB = SharedMemory.Allocate1D<Row4>(2 * GpuSliceDepth * (side + 1));
        int tx = Group.IdxX, ty = Group.IdxY, dx = Group.DimX, dy = Group.DimY;
        int thread = ty * dx + tx, threads = dx * dy;
        int row0 = Grid.IdxY * dy * GpuMicroTile, col0 = Grid.IdxX * dx * GpuMicroTile;
        var fromA = new SliceSource(a, shape.AOuterStride, shape.ADepthStride, shape.M, shape.K, row0, dy, rowStride,
            thread, threads, outerLane: ty, depthLane: tx, depthLanes: dx);
        // Row sums in the large tile only: a constant false in the small one, where their code folds away.
        bool sumRows = side == LargeTileSide && shape.SumRows;
        var fromB = new SliceSource(b, shape.BOuterStride, shape.BDepthStride, shape.N, shape.K, col0, dx, rowStride,
            thread, threads, outerLane: tx, depthLane: ty, depthLanes: dy, onesOuter: shape.N);
        // This thread's staged quads, 2 or 4 per operand (a constant: the unused slots fold away). A side×side
        // group stages a whole slice this way.
        QuadSlot a0 = fromA.Slot(0), a1 = fromA.Slot(1), b0 = fromB.Slot(0), b1 = fromB.Slot(1);
        QuadSlot a2 = default, a3 = default, b2 = default, b3 = default;
        // Which element of each B quad is the column of ones (none unless 0..3).
        int ones0 = sumRows ? fromB.OnesLane(0) : -1, ones1 = sumRows ? fromB.OnesLane(1) : -1;
        if (staged > 2)
        {
            a2 = fromA.Slot(2); a3 = fromA.Slot(3); b2 = fromB.Slot(2); b3 = fromB.Slot(3);
        }

        Tile4x4 acc = default;
        int slices = (shape.K + GpuSliceDepth - 1) / GpuSliceDepth;
        for (int slice = 0; slice <= slices; slice++)
        {
            // Past the last slice the loads read nothing and the stores land in a buffer no one reads.
            Row4 sa0 = fromA.Load(a0), sa1 = fromA.Load(a1);
            Row4 sb0 = sumRows ? fromB.LoadWithOnes(b0, ones0) : fromB.Load(b0);
            Row4 sb1 = sumRows ? fromB.LoadWithOnes(b1, ones1) : fromB.Load(b1);
            a0 = fromA.Next(a0); a1 = fromA.Next(a1); b0 = fromB.Next(b0); b1 = fromB.Next(b1);
            Row4 sa2 = default, sa3 = default, sb2 = default, sb3 = default;
            if (staged > 2)
            {
                sa2 = fromA.Load(a2); sa3 = fromA.Load(a3); sb2 = fromB.Load(b2); sb3 = fromB.Load(b3);
                a2 = fromA.Next(a2); a3 = fromA.Next(a3); b2 = fromB.Next(b2); b3 = fromB.Next(b3);
            }
            int buffer = (slice & 1) * bufferSize, previous = bufferSize - buffer;
            if (slice > 0)
            {
                acc = MultiplySlice(acc, tileA.SubView(previous + ty, bufferSize - ty),
                    tileB.SubView(previous + tx, bufferSize - tx), rowStride);
            }
            var toA = tileA.SubView(buffer, bufferSize);
            var toB = tileB.SubView(buffer, bufferSize);
            toA[a0.TileIndex] = sa0; toA[a1.TileIndex] = sa1; toB[b0.TileIndex] = sb0; toB[b1.TileIndex] = sb1;
            if (staged > 2)
            {
                toA[a2.TileIndex] = sa2; toA[a3.TileIndex] = sa3; toB[b2.TileIndex] = sb2; toB[b3.TileIndex] = sb3;
            }
            fromA.LoadRest(toA, slice, staged, false);
            fromB.LoadRest(toB, slice, staged, sumRows);
            Group.Barrier();
        }

        int row = row0 + ty * GpuMicroTile, col = col0 + tx * GpuMicroTile;
        int columns = Math.Max(0, Math.Min(GpuMicroTile, shape.N - col));
        var biasRow = shape.HasBias && !sumRows ? LoadClipped(bias, col, columns, 1) : default;
        // A slope of 1 is the identity, exactly, so that the activation is one select per element, not a branch.
        float slope = shape.Activate || shape.Gated ? shape.Slope : 1f;
        // A loop, where the k slice is unrolled: it runs once per thread, and four copies of its body would be
        // a sixth of the kernel's instructions.
        for (int r = 0; r < GpuMicroTile; r++)
        {
            StoreRow(c, gate, shape, row + r, col, columns, acc.R0, biasRow, slope);
            if (sumRows) StoreRowSum(bias, shape, row + r, col, acc.R0);
            acc = new Tile4x4(acc.R1, acc.R2, acc.R3, default);
        }
    }

    /// <summary>
    /// The 32 k steps of a staged slice, unrolled by hand. The views start at this thread's Row4 of depth 0, so
    /// every read is at a constant offset, which ptxas folds into the LDS instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Tile4x4 MultiplySlice(Tile4x4 acc, ArrayView<Row4> a, ArrayView<Row4> b, int rowStride)
    {
        acc = MultiplyFourSteps(acc, a, b, 0, rowStride);
        acc = MultiplyFourSteps(acc, a, b, 4 * rowStride, rowStride);
        acc = MultiplyFourSteps(acc, a, b, 8 * rowStride, rowStride);
        acc = MultiplyFourSteps(acc, a, b, 12 * rowStride, rowStride);
        acc = MultiplyFourSteps(acc, a, b, 16 * rowStride, rowStride);
        acc = MultiplyFourSteps(acc, a, b, 20 * rowStride, rowStride);
        acc = MultiplyFourSteps(acc, a, b, 24 * rowStride, rowStride);
        return MultiplyFourSteps(acc, a, b, 28 * rowStride, rowStride);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Tile4x4 MultiplyFourSteps(Tile4x4 acc, ArrayView<Row4> a, ArrayView<Row4> b, int at, int rowStride)
    {
        acc = acc.MultiplyAdd(a[at], b[at]);
        acc = acc.MultiplyAdd(a[at + rowStride], b[at + rowStride]);
        acc = acc.MultiplyAdd(a[at + 2 * rowStride], b[at + 2 * rowStride]);
        return acc.MultiplyAdd(a[at + 3 * rowStride], b[at + 3 * rowStride]);
    }

    /// <summary>
    /// Where one staged quad comes from and goes: four consecutive outer indices of op(X) at one depth of a slice.
    /// Carried through the k loop and advanced a slice at a time, so that no index is recomputed per slice.
    /// </summary>
    readonly struct QuadSlot(int at0, int at1, int at2, int at3, int depthLeft, int tileIndex)
    {
        /// <summary>
        /// The offsets in X of the quad's four elements in the current slice. Outer indices past the edge of X
        /// are clamped to its last one: they feed only rows or columns of C that are never stored, so they need
        /// no zero, only an address inside X; each load then needs no predicate of its own.
        /// </summary>
        public readonly int At0 = at0, At1 = at1, At2 = at2, At3 = at3;
        /// <summary>K less the quad's depth in the current slice: the quad lies inside X while this is positive.</summary>
        public readonly int DepthLeft = depthLeft;
        /// <summary>Its Row4 in a staged slice: depth · row stride + quad.</summary>
        public readonly int TileIndex = tileIndex;
    }

    /// <summary>
    /// How one thread reads its quads of one operand's slices. A slice has GpuSliceDepth × tileQuads quads, dealt
    /// out with no division: where X is stored depth-contiguous (A, or Bᵀ), thread t takes quads t, t + threads, …
    /// numbered along the depth first, so that consecutive threads read consecutive addresses; otherwise the
    /// thread keeps one quad index (its lane across the tile) and steps along the depth by the group's other side.
    /// For B that lane is IdxX, and consecutive threads read consecutive quads; for Aᵀ it is IdxY, and consecutive
    /// threads read 16 contiguous bytes each at different depths (IdxX across A's tile would need DimX = DimY,
    /// which the CPU accelerator's groups are not).
    /// </summary>
    readonly struct SliceSource
    {
        readonly ArrayView<float> x;
        readonly int outerStride, depthStride, outerCount, depthCount, outer0, tileQuads, rowStride;
        readonly int firstDepth, firstQuad, depthStep, onesOuter;
        readonly bool depthContiguous;

        // outerLane: the thread's index across the tile (IdxY for A, IdxX for B), and depthLane, depthLanes its index
        // and the group's extent the other way.
        public SliceSource(ArrayView<float> x, int outerStride, int depthStride, int outerCount, int depthCount,
                           int outer0, int tileQuads, int rowStride, int thread, int threads, int outerLane,
                           int depthLane, int depthLanes, int onesOuter = -1)
        {
            this.onesOuter = onesOuter;
            this.x = x;
            this.outerStride = outerStride; this.depthStride = depthStride;
            this.outerCount = outerCount; this.depthCount = depthCount;
            this.outer0 = outer0; this.tileQuads = tileQuads; this.rowStride = rowStride;
            depthContiguous = depthStride == 1;
            firstDepth = depthContiguous ? thread : depthLane;
            firstQuad = depthContiguous ? 0 : outerLane;
            depthStep = depthContiguous ? threads : depthLanes;
        }

        /// <summary>The thread's j-th quad in slice <paramref name="slice"/>.</summary>
        public QuadSlot Slot(int j, int slice = 0)
        {
            var (depth, quad) = Position(j);
            int outer = outer0 + quad * GpuMicroTile, last = outerCount - 1;
            int depthAt = (slice * GpuSliceDepth + depth) * depthStride;
            return new QuadSlot(Math.Min(outer, last) * outerStride + depthAt,
                Math.Min(outer + 1, last) * outerStride + depthAt, Math.Min(outer + 2, last) * outerStride + depthAt,
                Math.Min(outer + 3, last) * outerStride + depthAt, depthCount - slice * GpuSliceDepth - depth,
                depth * rowStride + quad);
        }

        /// <summary>The depth and quad index of the thread's j-th quad; one or the other lies past the slice after the last.</summary>
        (int Depth, int Quad) Position(int j)
        {
            int q = firstDepth + j * depthStep;
            return depthContiguous ? (q & (GpuSliceDepth - 1), q >> SliceDepthBits) : (q, firstQuad);
        }

        /// <summary>
        /// Which element (0..3) of the thread's j-th quad is the outer index onesOuter, read as ones instead of X
        /// (a column of ones past op(B)'s last makes the row sums of op(A) one more column of C); none if not 0..3.
        /// </summary>
        public int OnesLane(int j) => onesOuter - (outer0 + Position(j).Quad * GpuMicroTile);

        /// <summary><see cref="Load"/>, with ones for the element <paramref name="onesLane"/> inside K.</summary>
        public Row4 LoadWithOnes(QuadSlot slot, int onesLane)
        {
            var v = Load(slot);
            if (slot.DepthLeft <= 0) return v;
            return new Row4(onesLane == 0 ? 1f : v.X, onesLane == 1 ? 1f : v.Y, onesLane == 2 ? 1f : v.Z, onesLane == 3 ? 1f : v.W);
        }

        /// <summary>The same quad in the next slice.</summary>
        public QuadSlot Next(QuadSlot slot)
        {
            int step = GpuSliceDepth * depthStride;
            return new(slot.At0 + step, slot.At1 + step, slot.At2 + step, slot.At3 + step, slot.DepthLeft - GpuSliceDepth,
                slot.TileIndex);
        }

        /// <summary>The quad's elements, zero past K, so that the multiply needs no bounds checks.</summary>
        public Row4 Load(QuadSlot slot) =>
            slot.DepthLeft > 0 ? new Row4(x[slot.At0], x[slot.At1], x[slot.At2], x[slot.At3]) : default;

        /// <summary>
        /// Loads the thread's quads from the <paramref name="staged"/>-th on straight into <paramref name="tile"/>:
        /// those a group smaller than the kernel's side squared leaves over. A full-size group on a GPU has none.
        /// </summary>
        public void LoadRest(ArrayView<Row4> tile, int slice, int staged, bool withOnes)
        {
            for (int j = staged; ; j++)
            {
                var (depth, quad) = Position(j);
                if (depth >= GpuSliceDepth || quad >= tileQuads) return;
                var slot = Slot(j, slice);
                tile[slot.TileIndex] = withOnes ? LoadWithOnes(slot, OnesLane(j)) : Load(slot);
            }
        }
    }

    /// <summary>x[at], x[at + stride], x[at + 2·stride], x[at + 3·stride]: the first <paramref name="valid"/> read, the rest zero.</summary>
    static Row4 LoadClipped(ArrayView<float> x, int at, int valid, int stride) =>
        new(valid > 0 ? x[at] : 0f, valid > 1 ? x[at + stride] : 0f, valid > 2 ? x[at + 2 * stride] : 0f,
            valid > 3 ? x[at + 3 * stride] : 0f);

    /// <summary>
    /// Writes the first <paramref name="columns"/> of a row of a thread's register tile to C through the epilogue.
    /// Through a view of the row, whose elements are at constant offsets: one address per row, not per element.
    /// </summary>
    static void StoreRow(ArrayView<float> c, ArrayView<float> gate, GemmShape shape, int row, int col, int columns, Row4 values,
                         Row4 bias, float slope)
    {
        if (row >= shape.M || columns == 0) return;
        long at = (long)row * shape.N + col;
        var to = c.SubView(at, columns);
        var gates = shape.Gated ? LoadClipped(gate.SubView(at, columns), 0, columns, 1) : default;
        to[0] = Epilogue(shape, values.X, bias.X, gates.X, slope);
        if (columns > 1) to[1] = Epilogue(shape, values.Y, bias.Y, gates.Y, slope);
        if (columns > 2) to[2] = Epilogue(shape, values.Z, bias.Z, gates.Z, slope);
        if (columns > 3) to[3] = Epilogue(shape, values.W, bias.W, gates.W, slope);
    }

    /// <summary>The row sum of op(A), where this row of the thread's register tile holds column N, the ones' product.</summary>
    static void StoreRowSum(ArrayView<float> rowSums, GemmShape shape, int row, int col, Row4 values)
    {
        int lane = shape.N - col;
        if (row >= shape.M || lane < 0 || lane >= GpuMicroTile) return;
        rowSums[row] = lane == 0 ? values.X : lane == 1 ? values.Y : lane == 2 ? values.Z : values.W;
    }

    /// <summary>LeakyReLU of sum (+ bias), or, gated, its backward: sum where the activated output is &gt; 0.</summary>
    static float Epilogue(GemmShape shape, float sum, float bias, float gate, float slope)
    {
        if (shape.HasBias) sum += bias;
        return (shape.Gated ? gate : sum) > 0f ? sum : sum * slope;
    }

    // ---------------------------------------------------------------- CpuBlocked

    /// <summary>
    /// One worker per core. The body is <see cref="CpuBlockedWorker"/>, which ILGPU's frontend never sees: the CPU
    /// accelerator calls a kernel's own .NET method, so the worker runs as ordinary JIT-compiled code and may use
    /// SIMD, which ILGPU rejects inside a kernel.
    /// </summary>
    [Kernel(KernelVariant.CpuWorker)]
    static void CpuBlockedKernel(GemmShape shape, ArrayView<float> a, ArrayView<float> b, ArrayView<float> c,
                                 ArrayView<float> bias, ArrayView<float> gate, ArrayView<float> scratch) =>
        CpuBlockedWorker(Grid.GlobalIndex.X, GridStrideLoop.Step, shape, a, b, c, bias, gate, scratch);

    /// <summary>
    /// .NET's Vector&lt;float&gt; stays 256 bits wide on AVX-512 CPUs, so the width is a type argument: one tile
    /// code, instantiated for each width, the JIT specialising it for the vector type.
    /// </summary>
    [External("ilgpugan_gemm_cpu_blocked_worker")]
    static unsafe void CpuBlockedWorker(int worker, int workers, GemmShape shape, ArrayView<float> a, ArrayView<float> b,
                                        ArrayView<float> c, ArrayView<float> bias, ArrayView<float> gate,
                                        ArrayView<float> scratch)
    {
        if (shape.VectorBits == 512)
            CpuBlocked<Lanes512, Vector512<float>>.Run(worker, workers, shape, CpuPointer.Of(a), CpuPointer.Of(b),
                CpuPointer.Of(c), CpuPointer.Of(bias), CpuPointer.Of(gate), CpuPointer.Of(scratch));
        else
            CpuBlocked<Lanes256, Vector256<float>>.Run(worker, workers, shape, CpuPointer.Of(a), CpuPointer.Of(b),
                CpuPointer.Of(c), CpuPointer.Of(bias), CpuPointer.Of(gate), CpuPointer.Of(scratch));
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
        /// <summary>x where gate &gt; 0, slope·x elsewhere: LeakyReLU's backward at its output, as the scalar kernel.</summary>
        static abstract TVector LeakyReluGradient(TVector gate, TVector x, TVector slopes);
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
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> LeakyReluGradient(Vector256<float> gate, Vector256<float> x, Vector256<float> slopes) =>
            Vector256.ConditionalSelect(Vector256.GreaterThan(gate, Vector256<float>.Zero), x, x * slopes);
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
        [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> LeakyReluGradient(Vector512<float> gate, Vector512<float> x, Vector512<float> slopes) =>
            Vector512.ConditionalSelect(Vector512.GreaterThan(gate, Vector512<float>.Zero), x, x * slopes);
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
        /// <summary>Per worker: packed A, packed B, and one edge tile of C with its bias row and its gates.</summary>
        public static readonly int ScratchPerWorker = (BlockRows + BlockCols) * BlockDepth + (2 * TileRows + 1) * TileCols;

        /// <summary>
        /// Worker <paramref name="worker"/> of <paramref name="workers"/> computes its columns of C. It packs columns
        /// of op(B), and rows of op(A) unless they are already contiguous in depth, into its own scratch, so that the
        /// register tiles read B with unit stride and A along its rows. Every element of C sums its k slices in
        /// order, whatever the split.
        /// </summary>
        public static unsafe void Run(int worker, int workers, GemmShape shape, float* a, float* b, float* c, float* bias,
                                      float* gate, float* scratch)
        {
            int tiles = (shape.N + TileCols - 1) / TileCols;
            int colBegin = tiles * worker / workers * TileCols;
            int colEnd = Math.Min(shape.N, tiles * (worker + 1) / workers * TileCols);
            float* packedA = scratch + (long)worker * ScratchPerWorker;
            float* packedB = packedA + BlockRows * BlockDepth;
            float* edgeTile = packedB + BlockCols * BlockDepth;
            float* edgeBias = edgeTile + TileRows * TileCols;
            float* edgeGate = edgeBias + TileCols;
            var tile = stackalloc TVector[2 * TileRows];
            if (shape.SumRows && worker == 0) SumRows(shape, a, bias);
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
                        depth0 + depth >= shape.K && shape.Activate, depth0 + depth >= shape.K && shape.Gated, shape.Slope);
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
                                long at = (long)(row0 + i) * shape.N + col0 + j;
                                int tileRows = Math.Min(TileRows, rows - i), tileCols = Math.Min(TileCols, cols - j);
                                if (tileRows == TileRows && tileCols == TileCols)
                                    epilogue.Store(tile, c + at, shape.N, bias + col0 + j, gate + at);
                                else
                                    StoreEdge(tile, c + at, shape.N, bias + col0 + j, gate + at, tileRows, tileCols, epilogue,
                                        edgeTile, edgeBias, edgeGate);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>
        /// rowSums[i] = Σ_p op(A)[i,p] in p order, a vector of rows at a time where they are contiguous (op(A) = dYᵀ):
        /// the same additions in the same order as the bias gradient's CPU worker makes, so the same bits.
        /// </summary>
        static unsafe void SumRows(GemmShape shape, float* a, float* rowSums)
        {
            int i = 0;
            if (shape.AOuterStride == 1)
                for (; i + Vector<float>.Count <= shape.M; i += Vector<float>.Count)
                {
                    var sum = Vector<float>.Zero;
                    for (int p = 0; p < shape.K; p++) sum += Vector.Load(a + (long)p * shape.ADepthStride + i);
                    sum.Store(rowSums + i);
                }
            for (; i < shape.M; i++)
            {
                float sum = 0f;
                for (int p = 0; p < shape.K; p++) sum += a[(long)i * shape.AOuterStride + (long)p * shape.ADepthStride];
                rowSums[i] = sum;
            }
        }

        /// <summary>
        /// How a k slice's tile of sums lands in C: onto the old C or not, with the bias or not, activated or not,
        /// gated (LeakyReLU's backward at the gate, an activated output laid out as C) or not.
        /// </summary>
        readonly struct Epilogue(bool addOld, bool addBias, bool activate, bool gated, float slope)
        {
            public bool Gated => gated;
            public bool AddsBias => addBias;

            /// <summary>Writes a full TileRows × TileCols tile of sums into C, whose rows (and the gate's) are cStride apart.</summary>
            public unsafe void Store(TVector* tile, float* c, int cStride, float* bias, float* gate)
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
                    if (gated)
                    {
                        sum0 = TLanes.LeakyReluGradient(TLanes.Load(gate + (long)r * cStride), sum0, slopes);
                        sum1 = TLanes.LeakyReluGradient(TLanes.Load(gate + (long)r * cStride + width), sum1, slopes);
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
        static unsafe void StoreEdge(TVector* tile, float* c, int cStride, float* bias, float* gate, int rows, int cols,
                                     Epilogue epilogue, float* edgeTile, float* edgeBias, float* edgeGate)
        {
            // Without a bias, `bias` may be the row sums' view, shorter than a row of C.
            if (epilogue.AddsBias)
                for (int q = 0; q < TileCols; q++) edgeBias[q] = q < cols ? bias[q] : 0f;
            for (int r = 0; r < rows; r++)
                for (int q = 0; q < cols; q++)
                    edgeTile[r * TileCols + q] = c[(long)r * cStride + q];
            if (epilogue.Gated)
                for (int r = 0; r < rows; r++)
                    for (int q = 0; q < cols; q++)
                        edgeGate[r * TileCols + q] = gate[(long)r * cStride + q];
            epilogue.Store(tile, edgeTile, TileCols, edgeBias, edgeGate);
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

using System.Text.Json.Serialization;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>
/// One configuration's training speed: the median of the repeats' ms per iteration, and what it projects for
/// one epoch of MNIST at this batch size and for the reference's 300 epochs (start-up and sampling not included).
/// The JSON keeps the name "SeedRunSeconds", which tools/perf_tables.py and docs/perf/bench.json use.
/// </summary>
public sealed record TrainingSpeed(int BatchSize, int Width, double MsPerIteration, double MinMsPerIteration,
    double MaxMsPerIteration, double SamplesPerSecond, int StepsPerEpoch, double EpochSeconds,
    [property: JsonPropertyName("SeedRunSeconds")] double ReferenceRunSeconds);

/// <summary>
/// One GEMM C[m,n] = op(A)·op(B) (Op: nn, nt, tn, tt as in <see cref="Gemm.Multiply"/>), our kernel's GFLOP/s
/// and, on CUDA when it loads, cuBLAS SGEMM's on the same row-major problem.
/// </summary>
public sealed record GemmSpeed(string Source, string Op, int M, int N, int K, double OursGflopPerSecond,
    double? CuBlasGflopPerSecond, double? OursPercentOfCuBlas);

public sealed record BenchReport(MeasuredOn MeasuredOn, Recipe Recipe, int Steps, int Warmup, int Repeats, IReadOnlyList<TrainingSpeed> Training,
    int GemmBatch, IReadOnlyList<GemmSpeed> Gemm, string CuBlas);

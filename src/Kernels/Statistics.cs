using ILGPU;
using ILGPU.Algorithms;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// The reductions of sample-quality measures: squared row norms and a per-row Gaussian log-sum-exp for
/// Parzen windows (the distances themselves come from GEMM, ‖x − s‖² = ‖x‖² + ‖s‖² − 2·x·s), and column
/// centring for covariances. Nothing here is differentiated, so there is no backward.
/// </summary>
public sealed class Statistics
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> rowSquaredNorms;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float> gaussianLogSumExp;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, int> centerColumns;

    /// <summary>Loads the statistics kernels on <paramref name="device"/>.</summary>
    public Statistics(ComputeDevice device)
    {
        this.device = device;
        var accelerator = device.Accelerator;
        rowSquaredNorms = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(RowSquaredNormsKernel);
        gaussianLogSumExp = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>,
            ArrayView<float>, int, int, float>(GaussianLogSumExpKernel);
        centerColumns = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, int>(CenterColumnsKernel);
    }

    /// <summary>norms[r] = Σ_c x[r,c]² over a [rows, cols] matrix.</summary>
    public void RowSquaredNorms(ArrayView<float> x, ArrayView<float> norms, int rows, int cols)
    {
        long n = (long)rows * cols;
        Views.AtLeast(x, n); Views.AtLeast(norms, rows);
        using var _ = device.Profile("row_squared_norms", 2.0 * n, 4.0 * n + 4.0 * rows);
        rowSquaredNorms(device.GridStride(rows), x, norms, rows, cols);
    }

    /// <summary>
    /// output[r] = log Σ_c exp(−scale·d[r,c]) with d[r,c] = max(queryNorms[r] + sampleNorms[c] − 2·dots[r,c], 0),
    /// the squared distance from query r to sample c when dots = queries·samplesᵀ (the clamp removes the
    /// rounding that can leave a tiny negative distance between equal vectors). With scale = 1/(2σ²) this is
    /// the log of a Parzen window's unnormalised density at each query.
    /// </summary>
    public void GaussianLogSumExp(ArrayView<float> dots, ArrayView<float> queryNorms, ArrayView<float> sampleNorms,
        ArrayView<float> output, int rows, int cols, float scale)
    {
        long n = (long)rows * cols;
        Views.AtLeast(dots, n); Views.AtLeast(queryNorms, rows); Views.AtLeast(sampleNorms, cols); Views.AtLeast(output, rows);
        using var _ = device.Profile("gaussian_log_sum_exp", 8.0 * n, 4.0 * n + 8.0 * rows + 4.0 * cols);
        gaussianLogSumExp(device.GridStride(rows), dots, queryNorms, sampleNorms, output, rows, cols, scale);
    }

    /// <summary>
    /// Subtracts each column's mean from a [rows, cols] matrix in place and writes the means: centring before
    /// the covariance product avoids E[x²] − E[x]², which cancels in float when the mean dominates.
    /// </summary>
    public void CenterColumns(ArrayView<float> x, ArrayView<float> means, int rows, int cols)
    {
        long n = (long)rows * cols;
        Views.AtLeast(x, n); Views.AtLeast(means, cols);
        using var _ = device.Profile("center_columns", 2.0 * n, 8.0 * n + 4.0 * cols);
        centerColumns(device.GridStride(cols), x, means, rows, cols);
    }

    [Kernel]
    static void RowSquaredNormsKernel(ArrayView<float> x, ArrayView<float> norms, int rows, int cols)
    {
        for (int r = Grid.GlobalIndex.X, step = GridStrideLoop.Step; r < rows; r += step)
        {
            long offset = (long)r * cols;
            float sum = 0f;
            for (int c = 0; c < cols; c++)
            {
                float v = x[offset + c];
                sum += v * v;
            }
            norms[r] = sum;
        }
    }

    /// <summary>
    /// One pass over the row with a running maximum (the streaming log-sum-exp): every exponent stays ≤ 0, and
    /// the row, up to tens of thousands of samples long, is read once.
    /// </summary>
    [Kernel]
    static void GaussianLogSumExpKernel(ArrayView<float> dots, ArrayView<float> queryNorms, ArrayView<float> sampleNorms,
        ArrayView<float> output, int rows, int cols, float scale)
    {
        for (int r = Grid.GlobalIndex.X, step = GridStrideLoop.Step; r < rows; r += step)
        {
            long offset = (long)r * cols;
            float queryNorm = queryNorms[r];
            float max = float.NegativeInfinity, sum = 0f;
            for (int c = 0; c < cols; c++)
            {
                float exponent = -scale * XMath.Max(queryNorm + sampleNorms[c] - 2f * dots[offset + c], 0f);
                if (exponent > max)
                {
                    sum = sum * MathF.Exp(max - exponent) + 1f;
                    max = exponent;
                }
                else sum += MathF.Exp(exponent - max);
            }
            output[r] = max + MathF.Log(sum);
        }
    }

    [Kernel]
    static void CenterColumnsKernel(ArrayView<float> x, ArrayView<float> means, int rows, int cols)
    {
        for (int c = Grid.GlobalIndex.X, step = GridStrideLoop.Step; c < cols; c += step)
        {
            float mean = Bias.ColumnSum(x, rows, cols, c) / rows;
            for (int r = 0; r < rows; r++) x[r * cols + c] -= mean;
            means[c] = mean;
        }
    }
}

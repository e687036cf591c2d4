using ILGPU.Runtime.Cuda;
using IlgpuGan.Kernels;

namespace IlgpuGan.Trainer;

/// <summary>
/// cuBLAS SGEMM through ILGPU.Algorithms, on the same row-major problem as <see cref="Gemm.Multiply"/>: cuBLAS is
/// column-major, and a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so the operands swap.
/// </summary>
public sealed class CuBlasGemm : IDisposable
{
    readonly CuBlas cuBlas;

    CuBlasGemm(CuBlas cuBlas) => this.cuBlas = cuBlas;

    /// <summary>cuBLAS on a CUDA device, or null and why it is not compared.</summary>
    public static (CuBlasGemm? CuBlas, string Status) TryOpen(ComputeDevice device)
    {
        if (device.Accelerator is not CudaAccelerator cuda)
            return (null, $"not compared: the {device.Kind} accelerator is not CUDA");
        try
        {
            var cuBlas = new CuBlas(cuda);
            return (new CuBlasGemm(cuBlas), $"compared: cuBLAS {cuBlas.Version}, FP32 SGEMM, default math mode");
        }
        // ILGPU.Algorithms reports a missing or unusable library by several exception types (DllNotFoundException,
        // CuBlasException, TypeInitializationException...): any of them means "not compared", with its message.
        catch (Exception e)
        {
            return (null, $"not compared: cuBLAS could not be loaded ({e.GetType().Name}: {e.Message}); " +
                          "it is looked up as libcublas.so.13, .12, .11, .10 on the loader's path (LD_LIBRARY_PATH)");
        }
    }

    public void Multiply(ArrayView<float> a, bool transposeA, ArrayView<float> b, bool transposeB, ArrayView<float> c, int m, int n, int k) =>
        cuBlas.Gemm(transposeB ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
            transposeA ? CuBlasOperation.Transpose : CuBlasOperation.NonTranspose,
            n, m, k, 1f, b, transposeB ? k : n, a, transposeA ? m : k, 0f, c, n);

    public void Dispose() => cuBlas.Dispose();
}

// One kernel called directly: C = A·B with IlgpuGan's GEMM on ILGPU's CPU accelerator, checked against a plain loop.
using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

const int m = 2, k = 3, n = 2;
float[] a = [1, 2, 3,
             4, 5, 6];       // [m, k], row-major
float[] b = [7, 8,
             9, 10,
             11, 12];        // [k, n]

using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
using var gemm = new Gemm(device);
using var aBuffer = device.Accelerator.Allocate1D(a);
using var bBuffer = device.Accelerator.Allocate1D(b);
using var cBuffer = device.Accelerator.Allocate1D<float>(m * n);

gemm.Multiply(aBuffer.View, false, bBuffer.View, false, cBuffer.View, m, n, k);
float[] c = cBuffer.GetAsArray1D();

for (int i = 0; i < m; i++)
    Console.WriteLine(string.Join(" ", Enumerable.Range(0, n).Select(j => c[i * n + j].ToString("F0").PadLeft(4))));

for (int i = 0; i < m; i++)
for (int j = 0; j < n; j++)
{
    float expected = 0;
    for (int p = 0; p < k; p++) expected += a[i * k + p] * b[p * n + j];
    if (c[i * n + j] != expected) throw new InvalidOperationException($"C[{i},{j}] = {c[i * n + j]}, expected {expected}");
}
Console.WriteLine("matches the plain product");

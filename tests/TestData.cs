using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>Random inputs, poisoned outputs and float64 comparisons shared by the kernel tests.</summary>
public static class TestData
{
    /// <summary>Sizes that are multiples of no tile, as every kernel test uses.</summary>
    public static readonly int[] OddSizes = [1, 7, 33, 100, 127];

    /// <summary>Both variants of an op that has a CPU worker; the worker's cases skip themselves off the CPU accelerator.</summary>
    public static readonly KernelVariant[] Variants = [KernelVariant.Portable, KernelVariant.CpuWorker];

    /// <summary>Every odd size with each variant.</summary>
    public static IEnumerable<TestCaseData> OddSizesByVariant() =>
        from variant in Variants from n in OddSizes select new TestCaseData(n, variant);

    public static float[] Uniform(Random rng, int n, float low = -1f, float high = 1f)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++) values[i] = low + (high - low) * rng.NextSingle();
        return values;
    }

    public static float[] Gaussian(Random rng, int n, float std = 1f)
    {
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = std * MathF.Sqrt(-2f * MathF.Log(1f - rng.NextSingle())) * MathF.Cos(2f * MathF.PI * rng.NextSingle());
        return values;
    }

    public static MemoryBuffer1D<float, Stride1D.Dense> Upload(ComputeDevice device, float[] values)
    {
        var buffer = device.Accelerator.Allocate1D<float>(Math.Max(values.Length, 1));
        if (values.Length > 0) buffer.View.SubView(0, values.Length).CopyFromCPU(values);
        return buffer;
    }

    /// <summary>A device buffer full of NaN: any element a kernel fails to write stays NaN and fails the comparison.</summary>
    public static MemoryBuffer1D<float, Stride1D.Dense> Poisoned(ComputeDevice device, int n)
    {
        var values = new float[Math.Max(n, 1)];
        Array.Fill(values, float.NaN);
        return Upload(device, values);
    }

    public static float[] Download(MemoryBuffer1D<float, Stride1D.Dense> buffer, int n)
    {
        var values = new float[n];
        buffer.View.SubView(0, n).CopyToCPU(values);
        return values;
    }

    /// <summary>
    /// Every element within atol + rtol·|expected|; NaN or Inf anywhere fails. Names the first bad index.
    /// </summary>
    public static void AssertClose(double[] expected, float[] actual, double rtol, double atol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: length");
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            if (!double.IsFinite(actual[i]) || !(error <= atol + rtol * Math.Abs(expected[i])))
                Assert.Fail($"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R} (|error| {error:G3})");
        }
    }

    public static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);
}

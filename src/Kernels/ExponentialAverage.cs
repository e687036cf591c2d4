using ILGPU;
using ILGPU.Runtime;

namespace IlgpuGan.Kernels;

/// <summary>
/// An exponential moving average of a network's tensors (Polyak averaging of G's weights for sampling):
/// average ← decay·average + (1 − decay)·value, over two tensors in one launch, so a network's parameters and
/// its BatchNorm running statistics are averaged together as timm's ModelEmaV2 averages a whole state_dict.
/// </summary>
public sealed class ExponentialAverage
{
    readonly ComputeDevice device;
    readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int, float> update;

    public ExponentialAverage(ComputeDevice device)
    {
        this.device = device;
        update = device.Accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, int, ArrayView<float>,
            ArrayView<float>, int, float>(UpdateKernel);
    }

    /// <summary>
    /// average ← lerp(average, value, 1 − decay) element-wise, for (<paramref name="average"/>,
    /// <paramref name="value"/>) and (<paramref name="secondAverage"/>, <paramref name="secondValue"/>); each pair
    /// has the length of its average. Values are read only. decay in [0, 1].
    /// </summary>
    public void Update(ArrayView<float> average, ArrayView<float> value, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, double decay)
    {
        if (!(decay >= 0 && decay <= 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "a decay is in [0, 1]");
        if (value.Length < average.Length || secondValue.Length < secondAverage.Length)
            throw new ArgumentException("each value tensor must be as long as its average");
        int n = (int)average.Length, secondN = (int)secondAverage.Length;
        // 1 − decay formed in double and rounded once, as PyTorch rounds lerp_'s Python-float weight.
        float weight = (float)(1.0 - decay);
        using var _ = device.Profile("exponential_average", 3.0 * (n + secondN), 12.0 * (n + secondN));
        update(device.GridStride(n + secondN), average, value, n, secondAverage, secondValue, secondN, weight);
    }

    /// <summary>torch.lerp's formula: from the nearer end, so a weight near 0 or 1 loses no precision.</summary>
    static float Lerp(float start, float end, float weight) =>
        weight < 0.5f ? start + weight * (end - start) : end - (end - start) * (1f - weight);

    [Kernel]
    static void UpdateKernel(ArrayView<float> average, ArrayView<float> value, int n, ArrayView<float> secondAverage,
        ArrayView<float> secondValue, int secondN, float weight)
    {
        int total = n + secondN;
        for (int i = Grid.GlobalIndex.X, step = GridStrideLoop.Step; i < total; i += step)
        {
            if (i < n) average[i] = Lerp(average[i], value[i], weight);
            else secondAverage[i - n] = Lerp(secondAverage[i - n], secondValue[i - n], weight);
        }
    }
}

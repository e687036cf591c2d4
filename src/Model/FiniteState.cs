using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model;

/// <summary>
/// Whether a GAN's whole state is finite: parameters, Adam moments and running statistics of both networks and of
/// G's average. A run that diverges may keep finite losses while a running variance overflows (and sampling in
/// eval mode then draws nothing), so the trainer checks this before each checkpoint rather than trusting the losses.
/// </summary>
public sealed class FiniteState : IDisposable
{
    readonly NonFinite kernel;
    readonly List<(string Owner, string Kind, ArrayView<float> View, ParameterLayout Layout)> tensors = [];
    readonly MemoryBuffer1D<int, Stride1D.Dense> first;
    readonly int[] unset;

    /// <summary>Watches <paramref name="gan"/>'s parameters on <paramref name="kernels"/>' device.</summary>
    public FiniteState(KernelSet kernels, Gan gan)
    {
        kernel = new NonFinite(kernels.Device);
        foreach (var (owner, network, trained) in new (string, Network?, bool)[]
                 { ("G", gan.Generator, true), ("D", gan.Discriminator, true), ("G's average", gan.AverageGenerator, false) })
        {
            if (network is null) continue;
            var store = network.Store;
            tensors.Add((owner, "", store.AllParameters, store.Parameters));
            if (trained)
            {
                tensors.Add((owner, " (Adam m)", store.AllAdamM, store.Parameters));
                tensors.Add((owner, " (Adam v)", store.AllAdamV, store.Parameters));
            }
            tensors.Add((owner, "", store.AllState, store.State));
        }
        first = kernels.Device.Accelerator.Allocate1D<int>(tensors.Count);
        unset = Enumerable.Repeat(int.MaxValue, tensors.Count).ToArray();
    }

    /// <summary>The first tensor holding NaN or an infinity, named with its value ("G's bn2.running_var[5] is Infinity"); null when all are finite.</summary>
    public string? FirstNonFinite()
    {
        first.View.CopyFromCPU(unset);
        for (int t = 0; t < tensors.Count; t++)
            if (tensors[t].Layout.Length > 0) kernel.FirstNonFiniteIndex(tensors[t].View, tensors[t].Layout.Length, first.View, t);
        var found = first.GetAsArray1D();
        for (int t = 0; t < tensors.Count; t++)
        {
            if (found[t] == int.MaxValue) continue;
            var (owner, kind, view, layout) = tensors[t];
            var slot = layout.Slots.Last(s => s.Offset <= found[t]);
            var value = view.SubView(found[t], 1).GetAsArray()[0];
            return $"{owner}'s {slot.Name}[{found[t] - slot.Offset}]{kind} is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
        }
        return null;
    }

    /// <summary>Frees the device buffer.</summary>
    public void Dispose() => first.Dispose();
}

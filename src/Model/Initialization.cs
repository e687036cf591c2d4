using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model;

/// <summary>PyTorch's default initial state for the layers we use.</summary>
public static class Initialization
{
    /// <summary>
    /// nn.Linear's reset_parameters: kaiming_uniform_(a=√5) for W and U(±1/√fan_in) for b both come to
    /// U(−1/√fan_in, 1/√fan_in). BatchNorm: γ = 1, β = 0, running mean 0, running variance 1. Adam's moments and
    /// step count start at zero. <paramref name="uniform"/>(stream, n) gives n values in [0, 1), one stream per
    /// Linear tensor, weight then bias, layer by layer, counting from <paramref name="firstStream"/>.
    /// </summary>
    /// <returns>The next unused stream.</returns>
    public static int LikePyTorch(Network network, Func<int, int, double[]> uniform, int firstStream)
    {
        var store = network.Store;
        var parameters = new float[store.Parameters.Length];
        var state = new float[store.State.Length];
        int stream = firstStream;
        foreach (var layer in network.Layers)
        {
            if (layer is Linear linear)
            {
                double bound = 1.0 / Math.Sqrt(linear.In);
                foreach (var slot in new[] { linear.Weight, linear.BiasSlot })
                {
                    var u = uniform(stream++, slot.Length);
                    for (int i = 0; i < slot.Length; i++) parameters[slot.Offset + i] = (float)(bound * (2.0 * u[i] - 1.0));
                }
            }
            else if (layer is BatchNorm1d norm)
            {
                Array.Fill(parameters, 1f, norm.Gamma.Offset, norm.Gamma.Length);
                Array.Fill(state, 1f, norm.RunningVar.Offset, norm.RunningVar.Length);
            }
        }
        store.AllParameters.CopyFromCPU(parameters);
        if (state.Length > 0) store.AllState.CopyFromCPU(state);
        store.AllAdamM.MemSetToZero();
        store.AllAdamV.MemSetToZero();
        store.AdamStep = 0;
        return stream;
    }

    /// <summary>
    /// The uniform source of a real run: Philox words of (seed, the initialisation stream of the tensor),
    /// 24 bits each, so a seed fixes the initial networks on every machine.
    /// </summary>
    public static Func<int, int, double[]> PhiloxUniform(ulong seed) => (tensor, n) =>
    {
        ulong stream = RandomStreams.InitializationStream(tensor);
        var values = new double[n];
        for (int block = 0; 4 * block < n; block++)
        {
            var (w0, w1, w2, w3) = Philox.Philox4x32_10((uint)block, 0, (uint)stream, (uint)(stream >> 32),
                (uint)seed, (uint)(seed >> 32));
            uint[] words = [w0, w1, w2, w3];
            for (int j = 0; j < 4 && 4 * block + j < n; j++) values[4 * block + j] = Philox.Uniform(words[j]);
        }
        return values;
    };

    /// <summary>Both networks of a new run, from its seed, and G's average, from G.</summary>
    public static void LikePyTorch(Gan gan)
    {
        var uniform = PhiloxUniform(gan.Config.Seed);
        LikePyTorch(gan.Discriminator, uniform, LikePyTorch(gan.Generator, uniform, 0));
        gan.StartAverage();
    }
}

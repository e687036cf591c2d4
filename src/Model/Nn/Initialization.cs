using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Nn;

/// <summary>
/// Where layers draw their initial values: <see cref="Next"/> gives n values in [0, 1) from a stream of their
/// own, one stream per tensor counting from the first, so the source and the order of the layers fix a
/// network's initial state. <c>uniform</c>(stream, n) gives a stream's first n values.
/// </summary>
public sealed class UniformSource(Func<int, int, double[]> uniform, int firstStream)
{
    /// <summary>The stream the next draw comes from.</summary>
    public int NextStream { get; private set; } = firstStream;

    /// <summary>Draws <paramref name="n"/> values from the next stream.</summary>
    public double[] Next(int n) => uniform(NextStream++, n);
}

/// <summary>PyTorch's default initial state, drawn from our counter-based generator.</summary>
internal static class Initialization
{
    /// <summary>A network initialised from <paramref name="uniform"/>, its first tensor drawing stream <paramref name="firstStream"/>.</summary>
    public static void LikePyTorch(Network network, Func<int, int, double[]> uniform, int firstStream) =>
        network.Initialize(new UniformSource(uniform, firstStream));

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

    /// <summary>Both networks of a new run from its seed, G's tensors drawing first, and G's average from G.</summary>
    public static void LikePyTorch(Gan gan)
    {
        var source = new UniformSource(PhiloxUniform(gan.Config.Seed), 0);
        gan.Generator.Initialize(source);
        gan.Discriminator.Initialize(source);
        gan.StartAverage();
    }
}

using System.Text;

namespace IlgpuGan.Tests;

/// <summary>
/// The PyTorch reference written by tests/reference/make_golden.py, and the hash it draws every input from,
/// reproduced bit for bit so that only outputs need to be stored.
/// </summary>
public sealed class GoldenFile
{
    /// <summary>Streams of the hash, as fixed in make_golden.py.</summary>
    public const int ParameterStream = 1000, RealStream = 2000, NoiseStream = 3000;
    public const int ZDim = 100, Pixels = 784;

    public sealed record Entry(string Name, int FullLength, int[] Indices, float[] Values);

    public int Batch { get; }
    public int Steps { get; }
    public bool Saturating { get; }
    public IReadOnlyDictionary<string, Entry> Entries { get; }

    GoldenFile(int batch, int steps, bool saturating, Dictionary<string, Entry> entries)
    {
        Batch = batch;
        Steps = steps;
        Saturating = saturating;
        Entries = entries;
    }

    public static GoldenFile Load(string fileName)
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "reference", fileName);
        using var reader = new BinaryReader(File.OpenRead(path));
        if (Encoding.ASCII.GetString(reader.ReadBytes(8)) != "IGGOLD1\0") throw new InvalidDataException($"{path}: not a golden file");
        int batch = reader.ReadInt32(), steps = reader.ReadInt32();
        bool saturating = reader.ReadInt32() != 0;
        int count = reader.ReadInt32();
        var entries = new Dictionary<string, Entry>();
        for (int e = 0; e < count; e++)
        {
            var name = Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadUInt16()));
            int full = reader.ReadInt32(), stored = reader.ReadInt32();
            var indices = new int[stored];
            for (int i = 0; i < stored; i++) indices[i] = reader.ReadInt32();
            var values = new float[stored];
            for (int i = 0; i < stored; i++) values[i] = reader.ReadSingle();
            entries[name] = new Entry(name, full, indices, values);
        }
        return new GoldenFile(batch, steps, saturating, entries);
    }

    static ulong SplitMix64(ulong x)
    {
        ulong z = x + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>n values in [0, 1): the top 24 bits of splitmix64(stream &lt;&lt; 32 | i).</summary>
    public static double[] Uniform(int stream, int n)
    {
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = (SplitMix64(((ulong)stream << 32) | (uint)i) >> 40) / (double)(1 << 24);
        return values;
    }

    public static float[] Gaussian(int stream, int n)
    {
        var u = Uniform(stream, 2 * n);
        var values = new float[n];
        for (int i = 0; i < n; i++)
            values[i] = (float)(Math.Sqrt(-2.0 * Math.Log(1.0 - u[2 * i])) * Math.Cos(2.0 * Math.PI * u[2 * i + 1]));
        return values;
    }

    public float[] RealBatch(int step) =>
        Array.ConvertAll(Uniform(RealStream + step, Batch * Pixels), u => ((float)Math.Floor(u * 256.0) / 255f - 0.5f) / 0.5f);

    /// <summary>which 0: the D step's z; 1: the G step's.</summary>
    public float[] Noise(int step, int which) => Gaussian(NoiseStream + 2 * step + which, Batch * ZDim);
}

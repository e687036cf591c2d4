using System.Diagnostics;
using System.Text;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// Mutated and truncated copies of a legitimate file, for feeding a reader what a disk, a download or an attacker
/// might hand it, and a harness that runs a reader on each under a time and memory bound. Deterministic: the same seed
/// gives the same mutants. Generic over the format: the mutations know bytes, and of text only runs of digits.
/// </summary>
public static class FileFuzz
{
    /// <summary>Values that sizes and offsets are made of when a mutation writes a number.</summary>
    static readonly long[] Extremes = [0, 1, -1, 2, 255, 65535, 65536, 1 << 20, 1 << 24, int.MaxValue, int.MinValue, uint.MaxValue, 1L << 32,
        long.MaxValue, long.MinValue, 1L << 62];

    /// <summary><paramref name="count"/> mutants of <paramref name="original"/>, each with a line saying what was done.</summary>
    public static IEnumerable<(string What, byte[] Bytes)> Mutants(byte[] original, int count, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < count; i++)
        {
            var bytes = (byte[])original.Clone();
            // Half the mutations fall in the first 64 bytes, where formats keep their headers.
            int at = random.Next(Math.Max(1, random.Next(2) == 0 ? Math.Min(64, bytes.Length) : bytes.Length));
            switch (random.Next(9))
            {
                case 0:
                    int length = random.Next(bytes.Length);
                    yield return ($"truncated to {length} bytes", bytes[..length]);
                    break;
                case 1:
                    int bit = random.Next(8);
                    bytes[at] ^= (byte)(1 << bit);
                    yield return ($"bit {bit} of byte {at} flipped", bytes);
                    break;
                case 2:
                    byte value = (byte)random.Next(256);
                    bytes[at] = value;
                    yield return ($"byte {at} set to {value}", bytes);
                    break;
                case 3:
                    long extreme = Extremes[random.Next(Extremes.Length)];
                    int width = random.Next(2) == 0 ? 4 : 8;
                    bool bigEndian = random.Next(2) == 0;
                    at = Math.Min(at, Math.Max(0, bytes.Length - width));
                    var field = BitConverter.GetBytes(extreme)[..width];
                    if (bigEndian) Array.Reverse(field);
                    field.AsSpan(0, Math.Min(width, bytes.Length - at)).CopyTo(bytes.AsSpan(at));
                    yield return ($"{width} bytes at {at} set to {extreme}{(bigEndian ? ", big-endian" : "")}", bytes);
                    break;
                case 4:
                    var inserted = new byte[1 + random.Next(64)];
                    random.NextBytes(inserted);
                    yield return ($"{inserted.Length} random bytes inserted at {at}", [.. bytes[..at], .. inserted, .. bytes[at..]]);
                    break;
                case 5:
                    int cut = random.Next(1, Math.Max(2, Math.Min(64, bytes.Length - at)));
                    yield return ($"{cut} bytes removed at {at}", [.. bytes[..at], .. bytes[Math.Min(bytes.Length, at + cut)..]]);
                    break;
                case 6:
                    var tail = new byte[1 + random.Next(256)];
                    random.NextBytes(tail);
                    yield return ($"{tail.Length} random bytes appended", [.. bytes, .. tail]);
                    break;
                case 7:
                    int span = Math.Min(bytes.Length - at, 1 + random.Next(32));
                    yield return ($"{span} bytes at {at} repeated", [.. bytes[..(at + span)], .. bytes[at..]]);
                    break;
                default:
                    yield return NumberReplaced(bytes, random);
                    break;
            }
        }
    }

    /// <summary>A run of ASCII digits (a size in a JSON header, say) replaced by an extreme number; a bit flip when there is none.</summary>
    static (string What, byte[] Bytes) NumberReplaced(byte[] bytes, Random random)
    {
        var runs = new List<(int Start, int End)>();
        for (int i = 0; i < bytes.Length; i++)
        {
            if (!char.IsAsciiDigit((char)bytes[i])) continue;
            int start = i;
            while (i < bytes.Length && char.IsAsciiDigit((char)bytes[i])) i++;
            runs.Add((start, i));
        }
        if (runs.Count == 0)
        {
            int at = random.Next(Math.Max(1, bytes.Length));
            if (bytes.Length > 0) bytes[at] ^= 1;
            return ($"bit 0 of byte {at} flipped", bytes);
        }
        var (from, to) = runs[random.Next(runs.Count)];
        var number = Encoding.ASCII.GetBytes(Extremes[random.Next(Extremes.Length)].ToString(System.Globalization.CultureInfo.InvariantCulture));
        return ($"the number at {from} replaced by {Encoding.ASCII.GetString(number)}", [.. bytes[..from], .. number, .. bytes[to..]]);
    }

    /// <summary>How one read of a mutant ended.</summary>
    public sealed record Outcome(string What, Exception? Error, long AllocatedBytes, TimeSpan Elapsed);

    /// <summary>
    /// Writes each mutant to <paramref name="path"/> and runs <paramref name="read"/> on it on a thread of its own,
    /// measuring what that thread allocated; fails the test at once when a read outlasts <paramref name="limit"/>.
    /// </summary>
    public static List<Outcome> Run(string path, IEnumerable<(string What, byte[] Bytes)> mutants, Action<string> read, TimeSpan limit)
    {
        var outcomes = new List<Outcome>();
        foreach (var (what, bytes) in mutants)
        {
            File.WriteAllBytes(path, bytes);
            outcomes.Add(Measure(what, () => read(path), limit));
        }
        return outcomes;
    }

    /// <summary>
    /// Runs <paramref name="read"/> on a thread of its own, catching what it throws and measuring what that thread
    /// allocated; fails the test at once when it outlasts <paramref name="limit"/> (a FIFO's open blocks for ever).
    /// </summary>
    public static Outcome Measure(string what, Action read, TimeSpan limit)
    {
        Exception? error = null;
        long allocated = 0;
        var clock = Stopwatch.StartNew();
        var thread = new Thread(() =>
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            try { read(); }
            catch (Exception e) { error = e; }
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }) { IsBackground = true };
        thread.Start();
        if (!thread.Join(limit)) Assert.Fail($"{what}: the reader did not finish within {limit.TotalSeconds} s");
        return new Outcome(what, error, allocated, clock.Elapsed);
    }

    /// <summary>
    /// Asserts that every outcome is a success or a failure the program reports as one line naming the file
    /// (<see cref="Program.IsReportedFailure"/>), and that no read allocated more than twice the legitimate file's
    /// length plus 200 MB.
    /// </summary>
    public static void AssertClean(IReadOnlyList<Outcome> outcomes, string path, long legitimateLength)
    {
        long bound = 2 * legitimateLength + (200L << 20);
        foreach (var outcome in outcomes)
        {
            if (outcome.Error is { } e)
            {
                Assert.That(Program.IsReportedFailure(e), $"{outcome.What}: {e.GetType().Name} escapes as a stack trace: {e}");
                Assert.That(e.Message, Does.Contain(path), $"{outcome.What}: the message names the file");
            }
            Assert.That(outcome.AllocatedBytes, Is.LessThanOrEqualTo(bound), $"{outcome.What}: allocated {outcome.AllocatedBytes} bytes");
        }
        TestContext.Out.WriteLine($"{outcomes.Count} mutants: {outcomes.Count(o => o.Error is null)} read, " +
            $"{outcomes.Count(o => o.Error is not null)} refused; most allocated {outcomes.Max(o => o.AllocatedBytes)} bytes, " +
            $"slowest {outcomes.Max(o => o.Elapsed).TotalMilliseconds:F0} ms");
    }
}

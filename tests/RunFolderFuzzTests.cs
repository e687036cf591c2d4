using System.Text;
using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>
/// The run folder's text files, config.json, metrics.csv and eval_ceiling.json, replaced by a few hundred truncated
/// and mutated versions of a real run's and by hand-made hostile ones, each read by `report`: every one ends within
/// a time limit with exit 0 (a damaged metrics.csv gives the rows it still has) or exit 1 and one line naming the
/// file, never a stack trace, having allocated less than twice the file's size plus 200 MB. The bulk runs in-process;
/// a few go through the real program.
/// </summary>
[NonParallelizable]
public sealed class RunFolderFuzzTests
{
    const int MutationsPerFile = 100;
    static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    string folder = null!;
    string run = null!;

    [OneTimeSetUp]
    public void TrainAShortRun()
    {
        folder = Directory.CreateTempSubdirectory("ilgpugan-fuzz-").FullName;
        run = ProgramTests.TrainTinyRun(folder, "run", "--epochs", "3", "--sample-every", "1", "--seed", "2");
        File.WriteAllText(Path.Combine(run, "eval_ceiling.json"),
            """{"parzen": 231.4, "frechet": 0.051, "classifier_score": 9.82, "min_class_share": 0.089}""");
    }

    [OneTimeTearDown]
    public void DeleteTheRun() => Directory.Delete(folder, recursive: true);

    static readonly string[] HostileJson =
    [
        "", " ", "null", "[]", "5", "\"text\"", "{", "}", "{\"device\": 5}", "{\"device\": null}", "{\"device\": {\"a\": 1}}",
        "{\"parzen\": \"x\"}", "{\"parzen\": 1e999}", "{\"parzen\": -1e999, \"frechet\": NaN}", "{\"parzen\": 1, \"parzen\": 2}",
        "\uFEFF{}", "{\"a\": \"\u001b[2J\\u0000\"}", new string('[', 100_000), string.Concat(Enumerable.Repeat("{\"a\":", 5000)),
        "{" + string.Join(',', Enumerable.Range(0, 20_000).Select(i => $"\"k{i}\": {i}")) + "}",
    ];

    static readonly string[] HostileCsv =
    [
        "", "\n", ",,,,", MetricsLog.HeaderFor(10), MetricsLog.HeaderFor(10) + "\n" + string.Join(',', Enumerable.Repeat("NaN", 24)),
        MetricsLog.HeaderFor(10) + "\n" + string.Join(',', Enumerable.Repeat("1e999", 24)),
        MetricsLog.HeaderFor(10) + "\n" + string.Join(',', Enumerable.Repeat("-0", 24)) + "\n" + string.Join(',', Enumerable.Repeat("", 24)),
        "step\n" + string.Join('\n', Enumerable.Range(0, 1000).Select(i => (-i).ToString())),
        new string(',', 100_000), string.Join('\n', Enumerable.Repeat(new string('9', 400), 1000)),
    ];

    [TestCase("config.json")]
    [TestCase("eval_ceiling.json")]
    [TestCase("metrics.csv")]
    public void MutatedFilesEndInOneLineOrAReport(string name)
    {
        var path = Path.Combine(run, name);
        var legit = File.ReadAllBytes(path);
        var hostile = (name.EndsWith(".csv", StringComparison.Ordinal) ? HostileCsv : HostileJson).Select(Encoding.UTF8.GetBytes);
        int refused = 0, read = 0;
        try
        {
            foreach (var (bytes, index) in hostile.Concat(Mutations(legit, name.Length, MutationsPerFile)).Select((b, i) => (b, i)))
            {
                File.WriteAllBytes(path, bytes);
                long allocated = GC.GetTotalAllocatedBytes();
                var task = Task.Run(() => ProgramTests.Ilgpugan("report", "--run", run));
                Assert.That(task.Wait(Limit), $"case {index} of {name} did not end");
                var (code, output, error) = task.Result;
                // All that the case allocated, a bound on what it held at once.
                Assert.That(GC.GetTotalAllocatedBytes() - allocated, Is.LessThan(2L * bytes.Length + 200_000_000), $"case {index}");
                if (code == 0)
                {
                    read++;
                    Assert.That(error, Is.Empty, $"case {index}");
                    continue;
                }
                refused++;
                Assert.That(code, Is.EqualTo(1), $"case {index}: {output}{error}");
                Assert.That(error.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1), $"case {index}: {error}");
                Assert.That(error, Does.StartWith($"ilgpugan: {path}: "), $"case {index}");
            }
        }
        finally { File.WriteAllBytes(path, legit); }
        TestContext.Out.WriteLine($"{name}: {refused} refused, {read} read");
        // metrics.csv passes over what is not a whole row, so only its size can be refused.
        if (name.EndsWith(".json", StringComparison.Ordinal)) Assert.That(refused, Is.GreaterThan(0), "some case was refused");
    }

    /// <summary>A few through the real program: it exits, and its standard error is one line.</summary>
    [Test]
    public void TheProgramRefusesInOneLine()
    {
        var config = Path.Combine(run, "config.json");
        var legit = File.ReadAllBytes(config);
        try
        {
            foreach (var bytes in new[] { "", "{\"device\": 5}", new string('[', 100_000) }.Select(Encoding.UTF8.GetBytes))
            {
                File.WriteAllBytes(config, bytes);
                using var child = ChildTrainer.Start(["report", "--run", run]);
                var (code, output) = child.WaitForExit();
                Assert.That(code, Is.EqualTo(1), output);
                Assert.That(output.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(1).And.All.StartWith($"ilgpugan: {config}: "));
            }
        }
        finally { File.WriteAllBytes(config, legit); }
    }

    /// <summary>Truncations, flipped bytes, inserted and deleted spans and hostile characters, each drawn from a seeded generator.</summary>
    static IEnumerable<byte[]> Mutations(byte[] legit, int seed, int count)
    {
        var random = new Random(seed);
        var hostileBytes = "\"{}[],:\n\r\0\\-e9.\u00ff"u8.ToArray();
        for (int i = 0; i < count; i++)
        {
            var bytes = legit.ToList();
            int at = random.Next(bytes.Count);
            switch (i % 5)
            {
                case 0: bytes.RemoveRange(at, bytes.Count - at); break;
                case 1:
                    for (int flips = random.Next(1, 5); flips > 0; flips--) bytes[random.Next(bytes.Count)] ^= (byte)random.Next(1, 256);
                    break;
                case 2: bytes.InsertRange(at, Enumerable.Range(0, random.Next(1, 17)).Select(_ => (byte)random.Next(256))); break;
                case 3: bytes.RemoveRange(at, Math.Min(random.Next(1, 64), bytes.Count - at)); break;
                default:
                    for (int hits = random.Next(1, 4); hits > 0; hits--) bytes[random.Next(bytes.Count)] = hostileBytes[random.Next(hostileBytes.Length)];
                    break;
            }
            yield return bytes.ToArray();
        }
    }
}

using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace IlgpuGan.Tests;

/// <summary>
/// Every relative link in README.md and docs/*.md names a file or folder of the checkout, and its #fragment a
/// heading of that page, with the anchors GitHub gives headings: moving a section or a page breaks no link silently.
/// </summary>
public sealed class DocumentationLinkTests
{
    [Test]
    public void EveryRelativeLinkInTheReadmeAndDocsResolves()
    {
        string checkout = Checkout();
        var pages = new[] { Path.Combine(checkout, "README.md") }
            .Concat(Directory.GetFiles(Path.Combine(checkout, "docs"), "*.md").Order(StringComparer.Ordinal));
        var broken = new List<string>();
        int links = 0;
        foreach (var page in pages)
            foreach (var (line, target) in RelativeLinks(page))
            {
                links++;
                if (Problem(page, target) is { } problem)
                    broken.Add($"{Path.GetRelativePath(checkout, page)}:{line}: ({target}) {problem}");
            }

        Assert.That(links, Is.GreaterThan(50), "the pages should link into docs/ and each other");
        Assert.That(broken, Is.Empty);
    }

    [TestCase("## 300 epochs of `stable`", ExpectedResult = "300-epochs-of-stable")]
    [TestCase("### AMD EPYC Zen 4, AVX-512 (2026-12-01, evening)", ExpectedResult = "amd-epyc-zen-4-avx-512-2026-12-01-evening")]
    [TestCase("## Measured facts about ILGPU's CPU accelerator", ExpectedResult = "measured-facts-about-ilgpus-cpu-accelerator")]
    [TestCase("## See [the GPU page](gpu.md) and `bench_cpu.sh`", ExpectedResult = "see-the-gpu-page-and-bench_cpush")]
    public string AnchorIsGitHubs(string heading) => Anchor(heading.TrimStart('#').Trim());

    /// <summary>Why a link from <paramref name="page"/> does not resolve; null when it does.</summary>
    static string? Problem(string page, string target)
    {
        int hash = target.IndexOf('#');
        string path = hash < 0 ? target : target[..hash];
        string? fragment = hash < 0 ? null : target[(hash + 1)..];
        string file = path.Length == 0 ? page : Path.GetFullPath(Path.Combine(Path.GetDirectoryName(page)!, Uri.UnescapeDataString(path)));
        if (!File.Exists(file) && !Directory.Exists(file)) return "no such file or folder";
        if (fragment is not null && file.EndsWith(".md", StringComparison.Ordinal) && !Anchors(file).Contains(fragment))
            return $"no heading #{fragment} in {Path.GetFileName(file)}";
        return null;
    }

    /// <summary>The targets of Markdown links and images outside code, with their line numbers; web and mail links left out.</summary>
    static IEnumerable<(int Line, string Target)> RelativeLinks(string page)
    {
        var lines = OutsideCode(page);
        for (int i = 0; i < lines.Count; i++)
        {
            string text = Regex.Replace(lines[i], "`[^`]*`", "");
            foreach (Match link in Regex.Matches(text, @"\]\(([^)\s]+)\)"))
            {
                string target = link.Groups[1].Value;
                if (!Regex.IsMatch(target, "^[a-zA-Z][a-zA-Z+.-]*:")) yield return (i + 1, target);
            }
        }
    }

    static HashSet<string> Anchors(string page)
    {
        var anchors = new HashSet<string>(StringComparer.Ordinal);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var line in OutsideCode(page))
        {
            var heading = Regex.Match(line, @"^#{1,6}\s+(.*?)\s*#*\s*$");
            if (!heading.Success) continue;
            string anchor = Anchor(heading.Groups[1].Value);
            int earlier = seen.GetValueOrDefault(anchor);
            seen[anchor] = earlier + 1;
            anchors.Add(earlier == 0 ? anchor : $"{anchor}-{earlier}");
        }
        return anchors;
    }

    /// <summary>GitHub's anchor of a heading: its text lower-cased, links reduced to their text, everything but letters,
    /// marks, digits, connector punctuation, spaces and hyphens dropped, spaces made hyphens.</summary>
    static string Anchor(string heading)
    {
        string text = Regex.Replace(heading, @"!?\[([^\]]*)\]\([^)]*\)", "$1").Replace("`", "").Trim().ToLowerInvariant();
        var anchor = new StringBuilder();
        foreach (char c in text)
        {
            var category = CharUnicodeInfo.GetUnicodeCategory(c);
            if (c == ' ') anchor.Append('-');
            else if (c == '-' || char.IsLetterOrDigit(c) || category is UnicodeCategory.ConnectorPunctuation
                     or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
                     or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber)
                anchor.Append(c);
        }
        return anchor.ToString();
    }

    /// <summary>The page's lines, with those of fenced code blocks blanked so that line numbers stay true.</summary>
    static List<string> OutsideCode(string page)
    {
        var lines = new List<string>();
        bool fenced = false;
        foreach (var line in File.ReadAllLines(page))
        {
            bool fence = line.TrimStart().StartsWith("```", StringComparison.Ordinal);
            if (fence) fenced = !fenced;
            lines.Add(fence || fenced ? "" : line);
        }
        return lines;
    }

    static string Checkout()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "IlgpuGan.sln")) && File.Exists(Path.Combine(directory.FullName, "README.md")))
                return directory.FullName;
        Assert.Ignore($"no checkout (IlgpuGan.sln and README.md) above {AppContext.BaseDirectory}");
        return null!;
    }
}

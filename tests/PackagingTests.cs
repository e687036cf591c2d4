using System.Diagnostics;
using System.Text.RegularExpressions;
using IlgpuGan.Kernels;
using IlgpuGan.Model;
using IlgpuGan.Model.IO;

namespace IlgpuGan.Tests;

/// <summary>
/// What a user of the packages meets: `dotnet pack` makes IlgpuGan.Kernels, IlgpuGan.Model and the ilgpugan tool into a
/// folder feed; every program under samples/ builds against that feed by PackageReference and runs; the tool installs
/// from it and runs. Restores see only the feed and the machine's NuGet cache (as a source), into a fresh packages
/// folder, so nothing is downloaded and no earlier pack is reused. It needs the .NET SDK and the repository's sources:
/// without them it is skipped, or fails where ILGPUGAN_REQUIRED_CHECKS names "packaging" (CI).
/// </summary>
[NonParallelizable]
public sealed class PackagingTests
{
    const string Check = "packaging";
    static readonly TimeSpan Limit = TimeSpan.FromMinutes(5);

    /// <summary>Each sample's command-line arguments, in the order given; {0} is the sample's own temporary folder.</summary>
    static readonly Dictionary<string, Func<PackagingTests, string, string[]>> SampleArguments = new()
    {
        ["GenerateImages"] = (tests, folder) => [tests.Checkpoint(), Path.Combine(folder, "grid.png")],
        // Debian's Fashion-MNIST, which CI installs: the sample's default, MNIST, would be fetched.
        ["TrainWithProgress"] = (_, _) => ["/usr/share/datasets/fashion-mnist", "3", "32"],
    };

    TempFolder temp = null!;
    string repository = null!, feed = null!, version = null!;
    readonly Dictionary<string, string> environment = [];
    string? checkpoint;

    [OneTimeSetUp]
    public void Pack()
    {
        repository = RepositoryRoot() ?? Unavailable("the repository's sources are not above the test assembly");
        if (Run(Limit, repository, "dotnet", "--list-sdks") is not (0, var sdks, _) || string.IsNullOrWhiteSpace(sdks))
            Unavailable("no .NET SDK to pack with");

        temp = new TempFolder();
        feed = temp.File("feed");
        // The machine's cache serves every other package as a source; restores unpack into a fresh folder.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        File.WriteAllText(temp.File("NuGet.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="packed" value="{feed}" />
                <add key="cache" value="{cache}" />
              </packageSources>
            </configuration>
            """);

        // The sources pack as they were built and restored, most often an up-to-date build.
        foreach (var project in new[] { "src/Kernels/IlgpuGan.Kernels.csproj", "src/Model/IlgpuGan.Model.csproj", "src/Trainer/IlgpuGan.Trainer.csproj" })
            Succeed(Limit, repository, "pack", project, "-c", "Release", "-o", feed, "--disable-build-servers");
        environment["NUGET_PACKAGES"] = temp.File("packages");
        var packages = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var tool = packages.Select(p => Regex.Match(p!, @"^ilgpugan\.(\d+\.\d+\.\d+.*)\.nupkg$")).SingleOrDefault(m => m.Success);
        Assert.That(tool, Is.Not.Null, $"no ilgpugan package among {string.Join(", ", packages)}");
        version = tool!.Groups[1].Value;
        Assert.That(packages, Is.EquivalentTo(new[] { $"IlgpuGan.Kernels.{version}.nupkg", $"IlgpuGan.Model.{version}.nupkg", $"ilgpugan.{version}.nupkg" }));
    }

    [OneTimeTearDown]
    public void RemoveFeed() => temp?.Dispose();

    public static IEnumerable<TestCaseData> Samples()
    {
        var samples = RepositoryRoot() is { } root && Directory.Exists(Path.Combine(root, "samples"))
            ? Directory.GetDirectories(Path.Combine(root, "samples")).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList()
            : [];
        // Where the sources are, their samples must be found: a search that found none would run nothing and pass.
        if (samples.Count == 0) yield return new TestCaseData("(none found)").SetName("Sample(none found)");
        foreach (var sample in samples) yield return new TestCaseData(sample).SetName($"Sample({sample})");
    }

    /// <summary>The sample builds against the packed packages alone and runs to exit code 0.</summary>
    [TestCaseSource(nameof(Samples))]
    public void Sample(string name)
    {
        var folder = Path.Combine(repository, "samples", name);
        var projects = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.csproj") : [];
        Assert.That(projects, Has.Length.EqualTo(1), $"samples/{name} holds one project");
        Assert.That(File.ReadAllText(projects[0]), Does.Not.Contain("ProjectReference"),
            $"samples/{name} must reference the packages (PackageReference), as a user does, not the sources");

        var output = Directory.CreateDirectory(temp.File("samples", name)).FullName;
        var arguments = SampleArguments.TryGetValue(name, out var make) ? make(this, output) : [];
        // Builds go to the temporary folder, so a sample leaves no bin/ or obj/ in the repository.
        var (_, printed, _) = Succeed(Limit, output, ["run", "--project", projects[0], "-c", "Release",
            "--artifacts-path", Path.Combine(output, "artifacts"), "-p:RestoreConfigFile=" + temp.File("NuGet.config"),
            "--disable-build-servers", "--", .. arguments]);
        if (name == "GenerateImages")
        {
            // 16 samples of 28×28 in 4 columns with 2-pixel borders, doubled: (4·30 + 2)·2 pixels a side.
            var grid = SixLabors.ImageSharp.Image.Identify(Path.Combine(output, "grid.png"));
            Assert.That((grid.Width, grid.Height), Is.EqualTo((244, 244)), printed);
        }
        if (name == "CallOneKernel") Assert.That(printed, Does.Contain("matches the plain product"));
        if (name == "TrainWithProgress") Assert.That(printed, Does.Contain("cancelled after step"));
    }

    /// <summary>The tool installs from the feed as `dotnet tool install` does it for a user, and runs.</summary>
    [Test]
    public void ToolInstallsAndRuns()
    {
        var tools = temp.File("tools");
        Succeed(Limit, temp.Path, "tool", "install", "--tool-path", tools, "--add-source", feed,
            "--configfile", temp.File("NuGet.config"), "ilgpugan", "--version", version);
        var ilgpugan = Path.Combine(tools, OperatingSystem.IsWindows() ? "ilgpugan.exe" : "ilgpugan");

        var info = RunProgram(ilgpugan, "info");
        Assert.That(info, Does.Match(@"(?m)^Cpu +.*: usable"));
        Assert.That(RunProgram(ilgpugan, "--help"), Does.Contain("train"));
    }

    /// <summary>The installed tool names the packed version.</summary>
    [Test]
    public void ToolPrintsItsVersion()
    {
        var tools = temp.File("tools");
        if (!File.Exists(Path.Combine(tools, "ilgpugan"))) ToolInstallsAndRuns();
        Assert.That(RunProgram(Path.Combine(tools, "ilgpugan"), "--version"), Does.Contain(version));
    }

    string RunProgram(string program, params string[] arguments)
    {
        var (code, output, error) = Run(Limit, temp.Path, program, arguments);
        Assert.That(code, Is.EqualTo(0), $"{Path.GetFileName(program)} {string.Join(' ', arguments)}: {output}{error}");
        return output;
    }

    /// <summary>A checkpoint of a freshly initialised GAN of the default config, for the sample that draws from one.</summary>
    string Checkpoint()
    {
        if (checkpoint is not null) return checkpoint;
        using var device = ComputeDevice.Create(AcceleratorKind.Cpu);
        using var gan = new Gan(new KernelSet(device), new GanConfig { Seed = 7 });
        Model.IO.Checkpoint.Save(checkpoint = temp.File("checkpoint.bin"), gan, step: 0);
        return checkpoint;
    }

    (int Code, string Output, string Error) Succeed(TimeSpan limit, string directory, params string[] arguments)
    {
        var result = Run(limit, directory, "dotnet", arguments);
        Assert.That(result.Code, Is.EqualTo(0), $"dotnet {string.Join(' ', arguments)} exited {result.Code}:\n{result.Output}{result.Error}");
        return result;
    }

    (int Code, string Output, string Error) Run(TimeSpan limit, string directory, string program, params string[] arguments)
    {
        // dotnet test names the host that runs it.
        if (program == "dotnet") program = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var info = new ProcessStartInfo(program)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        foreach (var (name, value) in environment) info.Environment[name] = value;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        using var process = new Process { StartInfo = info };
        try { process.Start(); }
        catch (System.ComponentModel.Win32Exception e) { Unavailable($"cannot start {program}: {e.Message}"); }
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', arguments)} did not exit within {limit.TotalMinutes} minutes");
        }
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    /// <summary>The clone the tests were built from: the folder above the test assembly that holds IlgpuGan.sln and src/.</summary>
    static string? RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
            if (File.Exists(Path.Combine(folder.FullName, "IlgpuGan.sln")) && Directory.Exists(Path.Combine(folder.FullName, "src", "Trainer")))
                return folder.FullName;
        return null;
    }

    static string Unavailable(string reason)
    {
        RequiredChecks.Unavailable(Check, reason);
        return reason;
    }
}

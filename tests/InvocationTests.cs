using IlgpuGan.Trainer;

namespace IlgpuGan.Tests;

/// <summary>The words the stop message tells a user to type again, for each way of starting the program.</summary>
public sealed class InvocationTests
{
    TempFolder folder = null!;

    [SetUp]
    public void CreateFolder() => folder = new TempFolder();

    [TearDown]
    public void DeleteFolder() => folder.Dispose();

    /// <summary>A project with its build in bin/Release/net10.0, as `dotnet run -c Release` makes it; returns that folder.</summary>
    string BuiltProject(params string[] project)
    {
        var projectFolder = folder.File(project);
        var output = Path.Combine(projectFolder, "bin", "Release", "net10.0");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(projectFolder, "IlgpuGan.Trainer.csproj"), "<Project />");
        return output;
    }

    [Test]
    public void DotnetRunsBuildIsContinuedWithDotnetRun()
    {
        var output = BuiltProject("src", "Trainer");

        var words = Invocation.Of(Path.Combine(output, "ilgpugan"), Path.Combine(output, "ilgpugan.dll"), folder.Path, "/usr/bin");

        Assert.That(words, Is.EqualTo("dotnet run --project src/Trainer -c Release --"));
        Assert.That(Invocation.Of(Path.Combine(output, "ilgpugan"), Path.Combine(output, "ilgpugan.dll"), folder.File("src", "Trainer"), "/usr/bin"),
            Is.EqualTo("dotnet run --project . -c Release --"));
    }

    [Test]
    public void TheDllIsContinuedWithTheDotnetHost()
    {
        var output = BuiltProject("src", "Trainer");
        var dll = Path.Combine(output, "ilgpugan.dll");

        Assert.That(Invocation.Of("/usr/share/dotnet/dotnet", dll, folder.Path, "/usr/bin"), Is.EqualTo("dotnet src/Trainer/bin/Release/net10.0/ilgpugan.dll"));
        Assert.That(Invocation.Of("/usr/share/dotnet/dotnet", "/opt/ilgpugan/ilgpugan.dll", folder.Path, null), Is.EqualTo("dotnet /opt/ilgpugan/ilgpugan.dll"));
        Assert.That(Invocation.Of("/usr/share/dotnet/dotnet", "/opt/my tools/ilgpugan.dll", folder.Path, null), Is.EqualTo("dotnet '/opt/my tools/ilgpugan.dll'"));
    }

    [Test]
    public void TheInstalledToolIsContinuedByItsName()
    {
        var tools = folder.File(".dotnet", "tools");
        var store = Path.Combine(tools, ".store", "ilgpugan", "1.0.0", "ilgpugan", "1.0.0", "tools", "net10.0", "any");
        Directory.CreateDirectory(store);

        Assert.That(Invocation.Of(Path.Combine(tools, "ilgpugan"), Path.Combine(store, "ilgpugan.dll"), folder.Path, "/usr/bin:" + tools),
            Is.EqualTo("ilgpugan"), "the global tool's shim, on PATH");
        Assert.That(Invocation.Of("/usr/bin/dotnet", Path.Combine(store, "ilgpugan.dll"), folder.Path, "/usr/bin"),
            Is.EqualTo("dotnet tool run ilgpugan"), "a local tool, run by the dotnet host");
    }

    [Test]
    public void AnExecutableOffPathIsContinuedByItsPath()
    {
        var publish = folder.File("publish");
        Directory.CreateDirectory(publish);
        var program = Path.Combine(publish, "ilgpugan");

        Assert.That(Invocation.Of(program, program + ".dll", folder.Path, "/usr/bin"), Is.EqualTo("publish/ilgpugan"));
        Assert.That(Invocation.Of(program, program + ".dll", publish, "/usr/bin"), Is.EqualTo("./ilgpugan"), "not a name the shell would look up on PATH");
        Assert.That(Invocation.Of(program, program + ".dll", folder.File("elsewhere"), "/usr/bin"), Is.EqualTo(program), "outside the working directory");
    }

    /// <summary>A host that embeds the program (the test runner here) is none of these: the program's name.</summary>
    [Test]
    public void AnotherHostGetsTheProgramName() =>
        Assert.That(Invocation.Of("/usr/bin/testhost", "/x/ilgpugan.dll", folder.Path, "/usr/bin"), Is.EqualTo(CommandLine.ProgramName));

    [Test]
    public void ArgumentsAreQuotedForTheShell() =>
        Assert.That(new[] { "runs/a", "my run", "it's", "" }.Select(Invocation.Quoted), Is.EqualTo(new[] { "runs/a", "'my run'", "'it'\\''s'", "''" }));
}

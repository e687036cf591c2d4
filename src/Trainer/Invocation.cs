namespace IlgpuGan.Trainer;

/// <summary>
/// How this program was started, as the words to type to start it again: <c>ilgpugan</c> for the installed tool (or
/// any build found on PATH), <c>dotnet run --project src/Trainer -c Release --</c> for the build that
/// <c>dotnet run</c> makes in a project's bin/&lt;configuration&gt;/&lt;framework&gt;/, <c>dotnet path/ilgpugan.dll</c>
/// for the dll run by the dotnet host, <c>dotnet tool run ilgpugan</c> for a local tool, else the program's path.
/// </summary>
public static class Invocation
{
    /// <summary>A command line that runs this program with <paramref name="arguments"/>, as this process was started.</summary>
    public static string Command(params string[] arguments) =>
        string.Join(' ', [Of(Environment.ProcessPath, typeof(Invocation).Assembly.Location, Environment.CurrentDirectory,
            Environment.GetEnvironmentVariable("PATH")), .. arguments.Select(Quoted)]);

    /// <summary>
    /// The words that start the program whose dll is <paramref name="programDll"/> in the process of
    /// <paramref name="processPath"/> (the dotnet host, or the program's own executable), typed in
    /// <paramref name="workingDirectory"/> with <paramref name="searchPath"/> as PATH.
    /// </summary>
    public static string Of(string? processPath, string programDll, string workingDirectory, string? searchPath)
    {
        var program = Path.GetFileNameWithoutExtension(programDll);
        var process = processPath is null ? "" : Path.GetFileNameWithoutExtension(processPath);
        if (process == "dotnet" && programDll.Length > 0)
            return IsToolPackage(Path.GetDirectoryName(programDll)!) ? $"dotnet tool run {program}" : $"dotnet {Shown(programDll, workingDirectory)}";
        if (process != program || processPath is null) return CommandLine.ProgramName;
        var folder = Path.GetDirectoryName(Path.GetFullPath(processPath))!;
        if (BuildOfProject(folder) is var (project, configuration))
            return $"dotnet run --project {Shown(project, workingDirectory)} -c {Quoted(configuration)} --";
        bool onPath = (searchPath ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Any(entry => Path.IsPathFullyQualified(entry) && SameFolder(entry, folder));
        return onPath ? program : Shown(processPath, workingDirectory, executable: true);
    }

    /// <summary>
    /// The project folder and configuration of a build output folder, &lt;project&gt;/bin/&lt;configuration&gt;/&lt;framework&gt;
    /// (or .../&lt;framework&gt;/&lt;runtime&gt;), whose project folder holds one project file; null for any other folder.
    /// </summary>
    static (string Project, string Configuration)? BuildOfProject(string folder)
    {
        var framework = new DirectoryInfo(folder);
        for (int depth = 0; depth < 2 && framework is not null; depth++, framework = framework.Parent)
            if (framework.Parent is { Parent: { Name: "bin", Parent: { } project } } configuration &&
                project.GetFiles("*.csproj").Length == 1)
                return (project.FullName, configuration.Name);
        return null;
    }

    /// <summary>Whether the dll lies where NuGet unpacks a tool package: .../tools/&lt;framework&gt;/any.</summary>
    static bool IsToolPackage(string folder) =>
        Path.GetFileName(folder) == "any" && Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(folder))) == "tools";

    static bool SameFolder(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(Path.GetFullPath(a)), Path.TrimEndingDirectorySeparator(b),
            OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    /// <summary>
    /// A path as typed from <paramref name="workingDirectory"/>: relative when inside it, else whole; an executable
    /// in the working directory itself gets ./ so that the shell does not search PATH for it.
    /// </summary>
    static string Shown(string path, string workingDirectory, bool executable = false)
    {
        var full = Path.GetFullPath(path, workingDirectory);
        var relative = Path.GetRelativePath(workingDirectory, full);
        bool inside = relative != ".." && !relative.StartsWith(".." + Path.DirectorySeparatorChar, StringComparison.Ordinal) && !Path.IsPathRooted(relative);
        var shown = !inside ? full : executable && !relative.Contains(Path.DirectorySeparatorChar) ? "." + Path.DirectorySeparatorChar + relative : relative;
        return Quoted(shown);
    }

    /// <summary>A word as a POSIX shell reads it back: as it is when it is plain, else in single quotes.</summary>
    public static string Quoted(string word) =>
        word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || "-_./:=@%+,".Contains(c) || c == Path.DirectorySeparatorChar)
            ? word
            : "'" + word.Replace("'", "'\\''") + "'";
}

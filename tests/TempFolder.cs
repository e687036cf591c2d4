namespace IlgpuGan.Tests;

/// <summary>A fresh folder under the system's temporary one, deleted with everything in it on Dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("ilgpugan-test-").FullName;

    public string File(params string[] names) => System.IO.Path.Combine([Path, .. names]);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

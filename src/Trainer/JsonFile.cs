using System.Text.Json;
using IlgpuGan.Model;

namespace IlgpuGan.Trainer;

/// <summary>The JSON files the program writes (config.json, eval's, profile's and bench's reports): indented, atomically.</summary>
public static class JsonFile
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, Indented));
}

using System.Text.Json;
using IlgpuGan.Model;

namespace IlgpuGan.Model.IO;

/// <summary>The JSON files the program writes (config.json, eval's, profile's and bench's reports): indented, atomically.</summary>
internal static class JsonFile
{
    static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>What a run folder's JSON file may hold at most: its config and a few figures are a few kB.</summary>
    public const long MaxRunFileBytes = 1 << 20;

    public static void Write<T>(string path, T value) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, Indented));

    /// <summary>
    /// A JSON file of a run folder whose root is an object, or null when there is none; anything else is a
    /// <see cref="DataFormatException"/> naming the file.
    /// </summary>
    public static JsonDocument? ReadObject(string path)
    {
        if (RunFileText.Read(path, MaxRunFileBytes, "a JSON file") is not { } text) return null;
        if (text.Length == 0) throw new DataFormatException(path, "empty, or not a regular file (a FIFO or a device); it should hold a JSON object");
        JsonDocument document;
        try { document = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = 16 }); }
        catch (JsonException e)
        {
            // The position, not the parser's message, which quotes the file's bytes.
            throw new DataFormatException(path, $"not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1})");
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new DataFormatException(path, "not a JSON object");
        }
        return document;
    }
}

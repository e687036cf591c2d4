namespace IlgpuGan.Model.Data;

/// <summary>
/// The shape of one image as the networks see it: Channels planes of Height rows of Width values, plane after plane
/// (PyTorch's C×H×W, flattened), so that G's output and D's input have <see cref="Pixels"/> values.
/// </summary>
public sealed record ImageShape(int Channels, int Height, int Width)
{
    /// <summary>MNIST's 28×28 greyscale, the shape of every run from before the shape was recorded.</summary>
    public static ImageShape Mnist { get; } = new(1, 28, 28);

    /// <summary>Greyscale or RGB: the pictures we write have one of these.</summary>
    public static IReadOnlyList<int> ChannelCounts { get; } = [1, 3];

    /// <summary>C·H·W; use only on a shape whose <see cref="Problem"/> is null.</summary>
    public int Pixels => checked(Channels * Height * Width);

    /// <summary>Whether the images have three channels, R, G and B.</summary>
    public bool IsColour => Channels == 3;

    /// <summary>Why this shape cannot be a run's, as a sentence; null when it can: C·H·W within <paramref name="maxPixels"/>.</summary>
    public string? Problem(int maxPixels) =>
        !ChannelCounts.Contains(Channels) ? $"images have {Channels} channels, not 1 (greyscale) or 3 (RGB)"
        : Height < 1 || Width < 1 ? $"images of {Height}×{Width} pixels are empty"
        : (long)Channels * Height * Width > maxPixels
            ? $"images of {this} have {(long)Channels * Height * Width} values, more than {maxPixels}"
        : null;

    /// <summary>C×H×W, as messages write a shape.</summary>
    public override string ToString() => $"{Channels}×{Height}×{Width}";
}

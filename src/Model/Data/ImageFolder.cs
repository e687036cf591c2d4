using SixLabors.ImageSharp;
using SixLabors.ImageSharp.Formats.Bmp;
using SixLabors.ImageSharp.Formats.Jpeg;
using SixLabors.ImageSharp.Formats.Png;
using SixLabors.ImageSharp.Memory;
using SixLabors.ImageSharp.PixelFormats;
using SixLabors.ImageSharp.Processing;

namespace IlgpuGan.Model.Data;

/// <summary>
/// A folder of pictures as a data set, torchvision's ImageFolder convention: with subfolders, each is a class, its
/// index that of its name in ordinal order, and its pictures are those anywhere below it; without, the folder's own
/// pictures, unlabelled. Each picture is decoded once, cropped to the aspect of the target and resized to it, and
/// converted to greyscale or RGB.
/// </summary>
public static class ImageFolder
{
    /// <summary>The file endings read as pictures: PNG, JPEG and BMP.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".png", ".jpg", ".jpeg", ".bmp"];

    /// <summary>
    /// The most bytes a picture's file and the most pixels its header may claim: a decompression bomb (a small file
    /// whose header claims a huge picture) is refused from its header, before anything of that size is allocated.
    /// </summary>
    public const long MaxFileBytes = 256L << 20, MaxPicturePixels = 1L << 26;
    /// <summary>The largest side a picture may be resized to.</summary>
    public const int MaxSide = 1 << 15;

    /// <summary>PNG, JPEG and BMP only, whatever a file's name says, and no allocation above 1 GiB as a second guard.</summary>
    static readonly Configuration Decoders = new(new PngConfigurationModule(), new JpegConfigurationModule(), new BmpConfigurationModule())
    {
        MemoryAllocator = MemoryAllocator.Create(new MemoryAllocatorOptions { AllocationLimitMegabytes = 1024 }),
    };

    static readonly EnumerationOptions Everything = new()
    {
        RecurseSubdirectories = true,
        AttributesToSkip = FileAttributes.Hidden | FileAttributes.System,
        IgnoreInaccessible = true,
    };

    static bool IsPicture(string path) => Extensions.Contains(Path.GetExtension(path), StringComparer.OrdinalIgnoreCase);

    static IEnumerable<string> PicturesUnder(string folder, bool recursive) =>
        Directory.EnumerateFiles(folder, "*", recursive ? Everything : new EnumerationOptions { AttributesToSkip = Everything.AttributesToSkip })
            .Where(IsPicture).Order(StringComparer.Ordinal);

    /// <summary>Whether the folder holds a picture, in itself or below.</summary>
    public static bool IsIn(string folder) => PicturesUnder(folder, recursive: true).Any();

    /// <summary>The pictures as images of one shape, their labels when the folder has class subfolders, and the class names.</summary>
    public static (ImageShape Shape, ImageSplit Train, IReadOnlyList<string>? Classes) Read(string folder, ImageFolderOptions options, TextWriter log)
    {
        if (!ImageShape.ChannelCounts.Contains(options.Channels))
            throw new ArgumentException($"{options.Channels} channels: pictures become greyscale (1) or RGB (3)");
        if (options.Size is < 1 or > MaxSide) throw new ArgumentException($"image size {options.Size} is outside 1..{MaxSide}");
        var classes = Directory.EnumerateDirectories(folder, "*", new EnumerationOptions { AttributesToSkip = Everything.AttributesToSkip })
            .Select(Path.GetFileName).OfType<string>().Where(name => !name.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        if (classes.Count > byte.MaxValue + 1)
            throw new DataFormatException(folder, $"{classes.Count} class subfolders, more than the {byte.MaxValue + 1} a label byte tells apart");
        var files = classes.Count == 0
            ? PicturesUnder(folder, recursive: false).Select(path => (Path: path, Label: (byte)0)).ToList()
            : classes.SelectMany((name, label) => PicturesUnder(Path.Combine(folder, name), recursive: true).Select(path => (Path: path, Label: (byte)label))).ToList();
        if (classes.Count > 0 && PicturesUnder(folder, recursive: false).Count() is var outside and > 0)
            log.WriteLine($"{folder}: {outside} pictures outside the class subfolders are not read");
        foreach (var empty in classes.Where(name => !PicturesUnder(Path.Combine(folder, name), recursive: true).Any()))
            log.WriteLine($"{Path.Combine(folder, empty)}: class {empty} has no pictures");

        var decoded = new List<byte[]>();
        var labels = new List<byte>();
        ImageShape? shape = options.Size is { } size ? new ImageShape(options.Channels, size, size) : null;
        int skipped = 0;
        foreach (var (path, label) in files)
        {
            try
            {
                var pixels = Decode(path, ref shape, options.Channels);
                if ((long)(decoded.Count + 1) * pixels.Length > Array.MaxLength)
                    throw new DataFormatException(folder, $"more than {decoded.Count} pictures of {shape}, more than one array holds");
                decoded.Add(pixels);
                labels.Add(label);
            }
            catch (Exception e) when (e is ImageFormatException or NotSupportedException or InvalidMemoryOperationException or IOException
                                          or UnauthorizedAccessException or PictureTooLargeException)
            {
                skipped++;
                log.WriteLine($"skipped {path}: {Printable.Escape(e is PictureTooLargeException ? e.Message : $"{e.GetType().Name}: {e.Message}")}");
            }
        }
        if (skipped > 0) log.WriteLine($"{folder}: skipped {skipped} of {files.Count} pictures that do not decode");
        if (decoded.Count == 0) throw new DataFormatException(folder, $"none of its {files.Count} pictures decodes");

        int length = decoded[0].Length;
        var images = new byte[(long)decoded.Count * length];
        for (int i = 0; i < decoded.Count; i++) decoded[i].CopyTo(images, (long)i * length);
        return (shape!, new ImageSplit(images, classes.Count == 0 ? null : labels.ToArray(), decoded.Count), classes.Count == 0 ? null : classes);
    }

    sealed class PictureTooLargeException(string message) : Exception(message);

    /// <summary>
    /// One picture as C·H·W bytes of <paramref name="shape"/>, which the first picture fixes when it is null. The file's
    /// length and the header's size are checked before it is decoded.
    /// </summary>
    static byte[] Decode(string path, ref ImageShape? shape, int channels)
    {
        if (RegularFile.Length(path, 1, "a picture") > MaxFileBytes)
            throw new PictureTooLargeException($"a file of more than {MaxFileBytes >> 20} MiB");
        var info = Image.Identify(Decoders, path, out _) ?? throw new UnknownImageFormatException("not a PNG, JPEG or BMP picture");
        if (info.Width > MaxSide || info.Height > MaxSide || (long)info.Width * info.Height > MaxPicturePixels)
            throw new PictureTooLargeException($"its header claims {info.Width}×{info.Height} pixels, more than the {MaxPicturePixels} a picture may have");
        var target = shape ?? new ImageShape(channels, info.Height, info.Width);
        int height = target.Height, width = target.Width, plane = height * width;
        var pixels = new byte[target.Pixels];
        if (channels == 1)
        {
            using var image = Image.Load<L8>(Decoders, path);
            Fit(image, width, height);
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                pixels[y * width + x] = image[x, y].PackedValue;
        }
        else
        {
            using var image = Image.Load<Rgb24>(Decoders, path);
            Fit(image, width, height);
            for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var rgb = image[x, y];
                pixels[y * width + x] = rgb.R;
                pixels[plane + y * width + x] = rgb.G;
                pixels[2 * plane + y * width + x] = rgb.B;
            }
        }
        shape = target;
        return pixels;
    }

    /// <summary>Resized to cover the target and cropped to its centre, as torchvision's Resize then CenterCrop; untouched when it fits.</summary>
    static void Fit(Image image, int width, int height)
    {
        if (image.Width != width || image.Height != height)
            image.Mutate(x => x.Resize(new ResizeOptions { Size = new Size(width, height), Mode = ResizeMode.Crop }));
    }
}

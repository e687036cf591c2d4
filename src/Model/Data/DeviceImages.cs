using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Model.Data;

/// <summary>Images on the device with pixels in [0, 1], and their squared norms for Parzen distances.</summary>
public sealed class DeviceImages : IDisposable
{
    readonly MemoryBuffer1D<float, Stride1D.Dense> pixels, norms;

    /// <param name="kernels">The kernels, on the device the images are copied to.</param>
    /// <param name="pixelsPerImage">The pixels of an image.</param>
    /// <param name="bytes">count × pixelsPerImage bytes, 0–255, as IDX files and saved images hold them.</param>
    public DeviceImages(KernelSet kernels, ReadOnlySpan<byte> bytes, int pixelsPerImage)
    {
        if (pixelsPerImage < 1 || bytes.Length == 0 || bytes.Length % pixelsPerImage != 0)
            throw new ArgumentException($"{bytes.Length} bytes are not whole images of {pixelsPerImage} pixels");
        Count = bytes.Length / pixelsPerImage;
        PixelsPerImage = pixelsPerImage;
        var accelerator = kernels.Device.Accelerator;
        pixels = accelerator.Allocate1D(ToUnitInterval(bytes));
        norms = accelerator.Allocate1D<float>(Count);
        kernels.Statistics.RowSquaredNorms(pixels.View, norms.View, Count, pixelsPerImage);
    }

    /// <summary>b/255: the pixels Parzen windows and the classifier take.</summary>
    public static float[] ToUnitInterval(ReadOnlySpan<byte> bytes)
    {
        var unit = new float[bytes.Length];
        for (int i = 0; i < unit.Length; i++) unit[i] = bytes[i] / 255f;
        return unit;
    }

    /// <summary>The number of images.</summary>
    public int Count { get; }
    /// <summary>The pixels per image.</summary>
    public int PixelsPerImage { get; }
    /// <summary>The images as floats, [Count, PixelsPerImage].</summary>
    public ArrayView<float> Pixels => pixels.View;
    /// <summary>Each image's squared norm, [Count].</summary>
    public ArrayView<float> Norms => norms.View;

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        pixels.Dispose();
        norms.Dispose();
    }
}

// Draws 16 images from a trained generator and writes them as a 4×4 PNG grid.
// Usage: GenerateImages [checkpoint or run folder] [grid.png]
using IlgpuGan.Kernels;
using IlgpuGan.Model.Imaging;
using IlgpuGan.Model.IO;
using IlgpuGan.Model.Training;

string checkpoint = RunFolder.CheckpointOf(args.Length > 0 ? args[0] : "runs/stable");
string png = args.Length > 1 ? args[1] : "generated.png";

using var device = ComputeDevice.Create();               // CUDA, an OpenCL GPU, else the CPU accelerator
var kernels = new KernelSet(device);
using var gan = Sampling.Restore(kernels, Checkpoint.Read(checkpoint), checkpoint);

float[] pixels = Sampling.Draw(kernels, gan, count: 16, SampleMode.Train, seed: 1);   // 16 images of C·H·W floats in [−1, 1]
using var grid = Images.Grid(pixels, gan.Config.Image, columns: 4, scale: 2);
Images.SavePng(png, grid);
Console.WriteLine($"wrote 16 samples of {checkpoint} on {device.Kind} to {png} ({grid.Width}×{grid.Height})");

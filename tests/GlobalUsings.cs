global using NUnit.Framework;
global using ILGPU;
global using ILGPU.Runtime;

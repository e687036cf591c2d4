using IlgpuGan.Kernels;
using IlgpuGan.Model;

namespace IlgpuGan.Tests;

/// <summary>The device's search for NaN and infinities, and the GAN state check built on it that names the tensor.</summary>
public sealed class NonFiniteTests(AcceleratorKind kind) : DeviceFixture(kind)
{
    const int Slots = 3, Untouched = 12345;

    public static IEnumerable<object[]> Cases() =>
        from n in TestData.OddSizes.Append(4099)
        from planted in new[] { 0, 1, 3 }
        select new object[] { n, planted };

    /// <summary>Against a host scan: the least planted index wins, the other slots are left as they were, none planted leaves int.MaxValue.</summary>
    [TestCaseSource(nameof(Cases))]
    public void FindsTheFirstNonFiniteValue(int n, int planted)
    {
        var rng = new Random(n * 7 + planted);
        var values = TestData.Uniform(rng, n);
        float[] poison = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        for (int p = 0; p < planted; p++) values[rng.Next(n)] = poison[p % poison.Length];
        using var device = TestData.Upload(Device, values);
        using var first = Device.Accelerator.Allocate1D<int>(Slots);
        first.View.CopyFromCPU([Untouched, int.MaxValue, Untouched]);

        new NonFinite(Device).FirstNonFiniteIndex(device.View, n, first.View, 1);

        int expected = Array.FindIndex(values, v => !float.IsFinite(v));
        Assert.That(first.GetAsArray1D(), Is.EqualTo(new[] { Untouched, expected < 0 ? int.MaxValue : expected, Untouched }));
    }

    /// <summary>A value planted in G's running variance, then one in D's Adam v: each is named, with its index and value.</summary>
    [Test]
    public void TheGanStateCheckNamesTheTensor()
    {
        var config = Recipes.Config(Recipe.Reference) with { BatchSize = 4, GeneratorWidths = [8, 5], DiscriminatorWidths = [6, 3] };
        using var gan = new Gan(new KernelSet(Device), config);
        Initialization.LikePyTorch(gan);
        using var check = new FiniteState(new KernelSet(Device), gan);
        Assert.That(check.FirstNonFinite(), Is.Null);

        var store = gan.Generator.Store;
        var runningVar = store.State.Slots.First(s => s.Name.EndsWith(".running_var", StringComparison.Ordinal));
        store.StateTensor(runningVar).SubView(2, 1).CopyFromCPU([float.PositiveInfinity]);
        Assert.That(check.FirstNonFinite(), Is.EqualTo($"G's {runningVar.Name}[2] is Infinity"));

        store.StateTensor(runningVar).SubView(2, 1).CopyFromCPU([1f]);
        var weight = gan.Discriminator.Store.Parameters.Slots[^1];
        gan.Discriminator.Store.AllAdamV.SubView(weight.Offset, 1).CopyFromCPU([float.NaN]);
        Assert.That(check.FirstNonFinite(), Is.EqualTo($"D's {weight.Name}[0] (Adam v) is NaN"));
    }
}

using System.Diagnostics;
using System.Reflection;
using ILGPU;
using ILGPU.Runtime;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>
/// Every public launch wrapper of src/Kernels, found by reflection (each public instance method of a public class that
/// takes a view), given one view too short: it must throw an <see cref="ArgumentException"/> naming that view before
/// anything is launched, as a kernel indexing past a view ends the process in an ILGPU assertion. A wrapper added
/// without its checks fails here.
/// </summary>
public sealed class WrapperArgumentTests
{
    /// <summary>Every count and size of the calls: a multiple of no tile.</summary>
    const int Size = 37;

    /// <summary>The other views' length, more than any call of sizes <see cref="Size"/> reads.</summary>
    const int Ample = 1 << 16;

    /// <summary>Views whose own length sizes the call, so that none is too short.</summary>
    static readonly HashSet<string> SizedByOwnLength =
    [
        "ExponentialAverage.Update(average)", "ExponentialAverage.Update(secondAverage)",
        "ExponentialAverage.StepUpdate(average)", "ExponentialAverage.StepUpdate(secondAverage)",
    ];

    static readonly Assembly KernelsAssembly = typeof(ComputeDevice).Assembly;

    static IEnumerable<MethodInfo> Wrappers() => KernelsAssembly.GetExportedTypes()
        .Where(type => type.IsClass && !type.IsAbstract)
        .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
        .Where(method => !method.IsSpecialName && method.GetParameters().Any(p => IsView(p.ParameterType)))
        .OrderBy(method => $"{method.DeclaringType!.Name}.{method.Name}", StringComparer.Ordinal);

    static bool IsView(Type type) => type.IsGenericType && type.GetGenericTypeDefinition() == typeof(ArrayView<>);

    static string CaseName(MethodInfo method, ParameterInfo view) => $"{method.DeclaringType!.Name}.{method.Name}({view.Name})";

    public static IEnumerable<TestCaseData> ShortViews() =>
        from method in Wrappers()
        from view in method.GetParameters()
        where IsView(view.ParameterType) && !SizedByOwnLength.Contains(CaseName(method, view))
        select new TestCaseData(method, view.Name).SetName(CaseName(method, view));

    ComputeDevice device = null!;
    readonly List<MemoryBuffer> buffers = [];
    readonly Dictionary<Type, object> ampleViews = [];

    [OneTimeSetUp]
    public void OpenDevice()
    {
        device = ComputeDevice.Create(AcceleratorKind.Cpu);
        AddAmpleView<float>();
        AddAmpleView<int>();
        AddAmpleView<long>();
    }

    void AddAmpleView<T>() where T : unmanaged
    {
        var buffer = device.Accelerator.Allocate1D<T>(Ample);
        buffers.Add(buffer);
        ampleViews[typeof(T)] = (ArrayView<T>)buffer.View;
    }

    [OneTimeTearDown]
    public void CloseDevice()
    {
        foreach (var buffer in buffers) buffer.Dispose();
        device.Dispose();
    }

    [TestCaseSource(nameof(ShortViews))]
    public void ShortViewIsRefusedByName(MethodInfo method, string shortView)
    {
        var ops = Construct(method.DeclaringType!);
        try
        {
            var arguments = method.GetParameters().Select(p => Argument(p, p.Name == shortView)).ToArray();
            Exception? thrown = null;
            var assertions = new AssertionLog();
            // A wrapper that launches anyway must fail this case, not end the test run: ILGPU's assertions on its
            // threads are recorded while it runs, and the short view is the head of an ample buffer.
            var listeners = Trace.Listeners.Cast<TraceListener>().ToArray();
            Trace.Listeners.Clear();
            Trace.Listeners.Add(assertions);
            try
            {
                try { method.Invoke(ops, BindingFlags.DoNotWrapExceptions, null, arguments, null); }
                catch (Exception e) { thrown = e; }
                device.Synchronize();
            }
            finally
            {
                Trace.Listeners.Clear();
                Trace.Listeners.AddRange(listeners);
            }
            Assert.That(thrown, Is.InstanceOf<ArgumentException>(),
                $"launched with {shortView} too short; ILGPU asserted: {string.Join("; ", assertions.Failures)}");
            Assert.That(((ArgumentException)thrown!).ParamName, Is.EqualTo(shortView), thrown.Message);
        }
        finally { (ops as IDisposable)?.Dispose(); }
    }

    /// <summary>The search finds the wrappers: a reflection that found none would make the cases above pass by running nothing.</summary>
    [Test]
    public void EveryOpFamilyIsSearched()
    {
        var names = ShortViews().Select(c => c.TestName!).ToList();
        Assert.That(names, Has.Count.GreaterThan(80));
        Assert.That(names, Does.Contain("DeviceRandom.Gaussian(output)"));
        Assert.That(names, Does.Contain("Gemm.Multiply(bias)"));
        Assert.That(names, Does.Contain("StepInputs.Draw(index)"));
    }

    /// <summary>The op class on the CPU accelerator, each constructor argument after the device at its default.</summary>
    object Construct(Type type)
    {
        var constructor = type.GetConstructors().Single(c => c.GetParameters() is [var first, ..] && first.ParameterType == typeof(ComputeDevice));
        return constructor.Invoke([device, .. constructor.GetParameters().Skip(1).Select(p => p.DefaultValue)]);
    }

    /// <summary>
    /// A view of one element when short, else an ample one (an optional view is left out: it may change what the call
    /// does); every count and size <see cref="Size"/>; a record of sizes built from its constructor the same way.
    /// </summary>
    object? Argument(ParameterInfo parameter, bool isShort)
    {
        var type = parameter.ParameterType;
        if (IsView(type))
        {
            var element = type.GetGenericArguments()[0];
            if (!isShort && parameter.HasDefaultValue) return Activator.CreateInstance(type);
            if (!ampleViews.TryGetValue(element, out var view)) Assert.Fail($"no view of {element.Name} for {parameter.Name}");
            return isShort ? type.GetMethod("SubView", [typeof(long), typeof(long)])!.Invoke(view, [0L, 1L]) : view;
        }
        return Value(type, parameter.HasDefaultValue ? parameter.DefaultValue : null, parameter.HasDefaultValue);
    }

    object? Value(Type type, object? defaultValue, bool hasDefault)
    {
        if (hasDefault && Nullable.GetUnderlyingType(type) is not null) return defaultValue;
        if (type == typeof(int)) return Size;
        if (type == typeof(long)) return (long)Size;
        if (type == typeof(float)) return 0.5f;
        if (type == typeof(double)) return 0.5;
        if (type == typeof(bool)) return false;
        if (type == typeof(ulong)) return 1UL;
        if (type.IsEnum) return Activator.CreateInstance(type);
        if (type.IsValueType && type.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault() is { } constructor)
            return constructor.Invoke(constructor.GetParameters().Select(p => Value(p.ParameterType, null, false)).ToArray());
        Assert.Fail($"no value for a {type.Name}");
        return null;
    }
}

/// <summary>The assertions that failed while it was listening, instead of ending the process.</summary>
sealed class AssertionLog : TraceListener
{
    readonly System.Collections.Concurrent.ConcurrentQueue<string> failures = new();

    public IEnumerable<string> Failures => failures;

    public override void Fail(string? message, string? detailMessage) => failures.Enqueue($"{message} {detailMessage}".Trim());

    public override void Write(string? message) { }

    public override void WriteLine(string? message) { }
}

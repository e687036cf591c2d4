namespace IlgpuGan.Trainer;

/// <summary>
/// `train`'s options, each read through its <see cref="Knob"/>: the knob's bounds are the option's, and what the
/// command line gave is sorted by the knob's class. An option read around it has no class, which a test refuses.
/// </summary>
public sealed class KnobArgs(CommandArgs args)
{
    readonly List<Knob> declared = [];

    public int Int(Knob knob, int defaultValue, string help) =>
        Declared(knob, args.Int(knob.Name, defaultValue, help, IntBound(knob.Min), IntBound(knob.Max)));

    public IReadOnlyList<int> IntList(Knob knob, IReadOnlyList<int> defaultValue, string help) =>
        Declared(knob, args.IntList(knob.Name, defaultValue, help, IntBound(knob.Min), IntBound(knob.Max))!);

    public float Float(Knob knob, float defaultValue, string help) =>
        Declared(knob, args.Float(knob.Name, defaultValue, help, (float)knob.Min, (float)knob.Max));

    public double Double(Knob knob, double defaultValue, string help) =>
        Declared(knob, args.Double(knob.Name, defaultValue, help, knob.Min, knob.Max));

    public T Choice<T>(Knob knob, T defaultValue, string help, bool setsDefaults = false) where T : struct, Enum =>
        Declared(knob, args.Choice(knob.Name, defaultValue, help, setsDefaults));

    public string? Path(Knob knob, string? defaultValue, string help) => Declared(knob, args.Path(knob.Name, defaultValue, help));

    public bool Flag(Knob knob, string help) => Declared(knob, args.Flag(knob.Name, help));

    public bool Given(Knob knob) => args.Given(knob.Name);

    /// <summary>The knobs of a class that the command line gave.</summary>
    public IReadOnlyList<Knob> Given(KnobClass knobClass) => declared.Where(k => k.Class == knobClass && args.Given(k.Name)).ToList();

    T Declared<T>(Knob knob, T value)
    {
        declared.Add(knob);
        return value;
    }

    static int IntBound(double bound) => (int)Math.Clamp(bound, int.MinValue, int.MaxValue);
}

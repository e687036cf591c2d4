using System.Reflection;
using System.Reflection.Emit;
using IlgpuGan.Kernels;

namespace IlgpuGan.Tests;

/// <summary>
/// The kernels of src/Kernels, found from the code: every method marked <see cref="KernelAttribute"/>, and every
/// method whose delegate the assembly hands to an accelerator's Load…Kernel, read from the IL of its methods.
/// </summary>
public static class KernelInventory
{
    static readonly Assembly KernelsAssembly = typeof(ComputeDevice).Assembly;
    const BindingFlags Everything = BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public |
                                    BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    public static IReadOnlyList<MethodInfo> Marked { get; } = KernelsAssembly.GetTypes()
        .SelectMany(type => type.GetMethods(Everything))
        .Where(method => method.GetCustomAttribute<KernelAttribute>() is not null)
        .OrderBy(Name, StringComparer.Ordinal)
        .ToArray();

    public static string Name(MethodInfo kernel) => $"{kernel.DeclaringType!.Name}.{kernel.Name}";

    public static KernelVariant Variant(MethodInfo kernel) => kernel.GetCustomAttribute<KernelAttribute>()!.Variant;

    /// <summary>
    /// Every method taken by address (ldftn) whose delegate goes to a Load…Kernel call: the next call after the
    /// ldftn is the load, since the delegate's constructor is a newobj and C#'s cached method-group delegates only
    /// add field loads and stores in between. A conditional choice of kernel puts both ldftns before that call.
    /// </summary>
    public static IReadOnlySet<MethodInfo> Loaded()
    {
        var loaded = new HashSet<MethodInfo>();
        foreach (var type in KernelsAssembly.GetTypes())
        foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            var pending = new List<MethodInfo>();
            foreach (var (opCode, token) in Instructions(method))
            {
                if (opCode == OpCodes.Ldftn && method.Module.ResolveMethod(token, type.GetGenericArguments(), null) is MethodInfo target)
                    pending.Add(target);
                else if (pending.Count > 0 && (opCode == OpCodes.Call || opCode == OpCodes.Callvirt))
                {
                    var callee = method.Module.ResolveMethod(token, type.GetGenericArguments(), null);
                    if (callee is not null && callee.Name.StartsWith("Load", StringComparison.Ordinal) &&
                        callee.Name.EndsWith("Kernel", StringComparison.Ordinal))
                        loaded.UnionWith(pending);
                    pending.Clear();
                }
            }
        }
        return loaded;
    }

    static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(field => (OpCode)field.GetValue(null)!)
        .ToDictionary(opCode => opCode.Value);

    /// <summary>A method body decoded into its opcodes, each with its 4-byte token operand (0 for other operands).</summary>
    static IEnumerable<(OpCode OpCode, int Token)> Instructions(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray() ?? [];
        for (int at = 0; at < il.Length;)
        {
            short value = il[at] == 0xFE ? (short)(0xFE00 | il[at + 1]) : il[at];
            var opCode = OpCodesByValue[value];
            at += opCode.Size;
            int token = 0;
            switch (opCode.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: at += 1; break;
                case OperandType.InlineVar: at += 2; break;
                case OperandType.InlineI8 or OperandType.InlineR: at += 8; break;
                case OperandType.InlineSwitch: at += 4 + 4 * BitConverter.ToInt32(il, at); break;
                case OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType or OperandType.InlineField:
                    token = BitConverter.ToInt32(il, at); at += 4; break;
                default: at += 4; break;
            }
            yield return (opCode, token);
        }
    }
}

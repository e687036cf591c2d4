using System.Runtime.CompilerServices;
using ILGPU;

namespace IlgpuGan.Kernels;

/// <summary>
/// The public wrappers' checks of their views, made before anything is launched: a kernel that indexes past a view
/// fails an ILGPU assertion, which ends the process, where an <see cref="ArgumentException"/> names the argument and
/// can be caught.
/// </summary>
static class Views
{
    /// <summary>Throws unless <paramref name="view"/> holds at least <paramref name="needed"/> elements.</summary>
    public static void AtLeast<T>(ArrayView<T> view, long needed, [CallerArgumentExpression(nameof(view))] string name = "")
        where T : unmanaged
    {
        if (view.Length < needed)
            throw new ArgumentException($"{name} holds {view.Length} elements where {needed} are needed", name);
    }

    /// <summary>Throws unless <paramref name="slot"/> is an element of <paramref name="view"/>.</summary>
    public static void HasSlot<T>(ArrayView<T> view, int slot, [CallerArgumentExpression(nameof(view))] string name = "")
        where T : unmanaged
    {
        if (slot < 0 || slot >= view.Length)
            throw new ArgumentException($"{name} holds {view.Length} elements and has no slot {slot}", name);
    }
}

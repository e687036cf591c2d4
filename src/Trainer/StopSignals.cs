using System.Runtime.InteropServices;

namespace IlgpuGan.Trainer;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM, caught while registered, as a cancellation: the first one cancels <see cref="Token"/>,
/// which ends the run once the step under way is done, so that its work is saved; a second one is left to the
/// runtime's default, which ends the process at once.
/// </summary>
public sealed class StopSignals : IDisposable
{
    readonly PosixSignalRegistration[] registrations;
    readonly CancellationTokenSource source = new();
    int received;

    public StopSignals() =>
        registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];

    /// <summary>Cancelled by the first signal.</summary>
    public CancellationToken Token => source.Token;

    /// <summary>The signal that asked to stop, or null while none has come.</summary>
    public PosixSignal? Received => Volatile.Read(ref received) is var signal and not 0 ? (PosixSignal)signal : null;

    /// <summary>The exit code of a process ended by the signal, as a shell reports it: 128 + its number.</summary>
    public static int ExitCode(PosixSignal signal) => signal == PosixSignal.SIGTERM ? 128 + 15 : 128 + 2;

    void Handle(PosixSignalContext context)
    {
        context.Cancel = Interlocked.CompareExchange(ref received, (int)context.Signal, 0) == 0;
        if (context.Cancel) source.Cancel();
    }

    public void Dispose()
    {
        foreach (var registration in registrations) registration.Dispose();
        source.Dispose();
    }
}

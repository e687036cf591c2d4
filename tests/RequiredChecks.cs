namespace IlgpuGan.Tests;

/// <summary>
/// Checks that need a tool this machine may lack (ptxas, an OpenCL implementation, Debian's PyTorch and onnx, a browser, numpy, Debian's data sets). On a
/// user's machine a missing tool skips the check with the reason; where ILGPUGAN_REQUIRED_CHECKS names the check (CI
/// sets "ptxas opencl pytorch onnx browser datasets numpy"), it fails instead, so that a check which silently ran nothing can never pass.
/// </summary>
public static class RequiredChecks
{
    public const string Variable = "ILGPUGAN_REQUIRED_CHECKS";

    public static bool IsRequired(string check) =>
        (Environment.GetEnvironmentVariable(Variable) ?? "")
            .Split([' ', ','], StringSplitOptions.RemoveEmptyEntries)
            .Contains(check, StringComparer.OrdinalIgnoreCase);

    /// <summary>Stops the current test: a failure when the check is required here, else a skip naming the reason.</summary>
    public static void Unavailable(string check, string reason)
    {
        if (IsRequired(check)) Assert.Fail($"{check} is required here ({Variable}) but unavailable: {reason}");
        Assert.Ignore($"{check} unavailable: {reason}");
    }
}

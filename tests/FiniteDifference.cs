namespace IlgpuGan.Tests;

/// <summary>
/// Central differences over the step float actually took: v + h and v − h are rounded to floats, so each
/// quotient divides by (v + h) − (v − h) as stored, not by 2h.
/// </summary>
public static class FiniteDifference
{
    /// <summary>∂f/∂vᵢ for every element i of v: f at v ± h·eᵢ.</summary>
    public static double[] Gradient(float[] values, float h, Func<float[], double> f)
    {
        var derivatives = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            var plus = (float[])values.Clone();
            var minus = (float[])values.Clone();
            plus[i] += h;
            minus[i] -= h;
            derivatives[i] = (f(plus) - f(minus)) / ((double)plus[i] - minus[i]);
        }
        return derivatives;
    }

    /// <summary>The derivative of an element-wise <paramref name="map"/> at every element of x: the map at x ± h, once each.</summary>
    public static double[] ElementWise(float[] x, float h, Func<float[], float[]> map)
    {
        var plus = Array.ConvertAll(x, v => v + h);
        var minus = Array.ConvertAll(x, v => v - h);
        float[] yPlus = map(plus), yMinus = map(minus);
        var derivatives = new double[x.Length];
        for (int i = 0; i < x.Length; i++) derivatives[i] = ((double)yPlus[i] - yMinus[i]) / ((double)plus[i] - minus[i]);
        return derivatives;
    }
}

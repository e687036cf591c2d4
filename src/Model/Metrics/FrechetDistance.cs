namespace IlgpuGan.Model.Metrics;

/// <summary>
/// The Fréchet distance between two Gaussians, ‖μ1 − μ2‖² + tr Σ1 + tr Σ2 − 2·tr (Σ1 Σ2)^½, in float64 on the
/// host: tr (Σ1 Σ2)^½ is the sum of the square roots of the eigenvalues of Σ1^½ Σ2 Σ1^½, which is symmetric,
/// so two symmetric eigendecompositions do (no general matrix square root, as scipy's sqrtm needs).
/// </summary>
public static class FrechetDistance
{
    /// <summary>The Fréchet distance between the Gaussians (<paramref name="mean1"/>, <paramref name="covariance1"/>) and (<paramref name="mean2"/>, <paramref name="covariance2"/>).</summary>
    public static double Compute(double[] mean1, double[,] covariance1, double[] mean2, double[,] covariance2)
    {
        int n = mean1.Length;
        if (mean2.Length != n || covariance1.GetLength(0) != n || covariance2.GetLength(0) != n)
            throw new ArgumentException($"moments of {n} and {mean2.Length} features");
        double distance = 0;
        for (int i = 0; i < n; i++)
            distance += (mean1[i] - mean2[i]) * (mean1[i] - mean2[i]) + covariance1[i, i] + covariance2[i, i];
        var root1 = SquareRoot(covariance1);
        var product = Multiply(Multiply(root1, covariance2), root1);
        // Rounding can leave tiny negative eigenvalues of a positive semi-definite product: they are 0.
        return distance - 2 * SymmetricEigen.Decompose(product).Values.Sum(v => Math.Sqrt(Math.Max(v, 0)));
    }

    /// <summary>The positive semi-definite square root V·diag(√λ)·Vᵀ of a symmetric matrix.</summary>
    public static double[,] SquareRoot(double[,] symmetric)
    {
        var (values, vectors) = SymmetricEigen.Decompose(symmetric);
        int n = values.Length;
        var root = new double[n, n];
        for (int k = 0; k < n; k++)
        {
            double s = Math.Sqrt(Math.Max(values[k], 0));
            for (int i = 0; i < n; i++)
            {
                double vik = vectors[i, k] * s;
                for (int j = 0; j < n; j++) root[i, j] += vik * vectors[j, k];
            }
        }
        return root;
    }

    static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0);
        var c = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < n; k++)
            {
                double aik = a[i, k];
                for (int j = 0; j < n; j++) c[i, j] += aik * b[k, j];
            }
        return c;
    }
}

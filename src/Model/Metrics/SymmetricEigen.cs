namespace IlgpuGan.Model.Metrics;

/// <summary>The eigendecomposition of a symmetric matrix, in float64 on the host.</summary>
internal static class SymmetricEigen
{
    /// <summary>
    /// Eigenvalues and eigenvectors (the columns of Vectors) of a symmetric matrix by cyclic Jacobi rotations:
    /// slower than tridiagonal QR, but short, and accurate to the last digits for the 256×256 covariances here.
    /// </summary>
    public static (double[] Values, double[,] Vectors) Decompose(double[,] symmetric)
    {
        int n = symmetric.GetLength(0);
        var a = (double[,])symmetric.Clone();
        var v = new double[n, n];
        for (int i = 0; i < n; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double offDiagonal = 0, diagonal = 0;
            for (int i = 0; i < n; i++)
            {
                diagonal += a[i, i] * a[i, i];
                for (int j = i + 1; j < n; j++) offDiagonal += a[i, j] * a[i, j];
            }
            // Relative off-diagonal norm 1e-12: rounding keeps a float64 sweep from going much below.
            if (offDiagonal <= 1e-24 * diagonal) break;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p, q];
                    if (apq == 0) continue;
                    // The rotation that zeroes a[p,q] (Golub & Van Loan, Algorithm 8.5.1), the smaller angle.
                    double theta = (a[q, q] - a[p, p]) / (2 * apq);
                    double t = Math.Sign(theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i, i];
        return (values, v);
    }
}

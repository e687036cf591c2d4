namespace IlgpuGan.Model.Metrics;

/// <summary>exp(E_x KL(p(y|x) ‖ p(y))) of a classifier's probabilities, and the share of images per predicted class.</summary>
public static class ClassifierScore
{
    /// <param name="probabilities">[count, classes], rows summing to 1.</param>
    /// <param name="classes">The number of classes.</param>
    public static (double Score, double[] Shares) Compute(ReadOnlySpan<float> probabilities, int classes)
    {
        int count = probabilities.Length / classes;
        var marginal = new double[classes];
        var shares = new double[classes];
        for (int r = 0; r < count; r++)
        {
            var row = probabilities.Slice(r * classes, classes);
            for (int c = 0; c < classes; c++) marginal[c] += row[c] / (double)count;
            shares[PredictedClass(row)] += 1.0 / count;
        }
        double meanKl = 0;
        for (int r = 0; r < count; r++)
            for (int c = 0; c < classes; c++)
            {
                double p = probabilities[r * classes + c];
                // 0·log 0 = 0: a class the classifier rules out adds nothing.
                if (p > 0) meanKl += p * Math.Log(p / marginal[c]) / count;
            }
        return (Math.Exp(meanKl), shares);
    }

    /// <summary>The most probable class of one row; the first on a tie.</summary>
    public static int PredictedClass(ReadOnlySpan<float> probabilities)
    {
        int predicted = 0;
        for (int c = 1; c < probabilities.Length; c++)
            if (probabilities[c] > probabilities[predicted]) predicted = c;
        return predicted;
    }
}

namespace ConvNet.Gpu.Data;

/// <summary>A training set and the validation set held out of it (see <see cref="Dataset.Split"/>).</summary>
/// <param name="Train">The samples kept for training.</param>
/// <param name="Validation">The samples held out.</param>
public sealed record DatasetSplit(Dataset Train, Dataset Validation);

public sealed partial class Dataset
{
    /// <summary>
    /// Splits the samples into a training and a validation set, both copies that keep this dataset's order.
    /// <list type="bullet">
    /// <item>Random: a seeded shuffle picks round(fraction × Count) validation samples.</item>
    /// <item>Stratified (class-index targets only): every class gives the same share, so the class proportions of both
    /// parts match this dataset's: class k gives ⌊fraction × n_k⌋ or ⌈fraction × n_k⌉ samples, the extra ones going to
    /// the classes with the largest remainders (ties: the lower class index), so the total is still round(fraction × Count).</item>
    /// </list>
    /// The split depends only on (<paramref name="seed"/>, the dataset), on every platform.
    /// </summary>
    /// <param name="validationFraction">Share of samples held out, in (0, 1).</param>
    /// <param name="seed">Seed of the choice.</param>
    /// <param name="stratified">Keep the class proportions (class-index targets only).</param>
    /// <exception cref="ConvNetArgumentException">
    /// The fraction is not in (0, 1), it leaves one side empty, or a stratified split is asked of float targets.
    /// </exception>
    public DatasetSplit Split(double validationFraction, ulong seed, bool stratified = false)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ConvNetArgumentException($"Split: the validation fraction must be in (0, 1), got {validationFraction}.", nameof(validationFraction));
        int validationCount = (int)Math.Round(validationFraction * Count, MidpointRounding.AwayFromZero);
        if (validationCount < 1 || validationCount >= Count)
            throw new ConvNetArgumentException(
                $"Split: a validation fraction of {validationFraction} of {Count} samples gives {validationCount} validation and {Count - validationCount} training samples; both need at least one.",
                nameof(validationFraction));
        if (stratified && !HasLabels)
            throw new ConvNetArgumentException(
                $"Split: a stratified split needs class-index targets, but dataset '{Source}' has {TargetKind} targets; use a random split.", nameof(stratified));

        var held = new bool[Count];
        if (stratified) PickStratified(held, validationFraction, validationCount, seed);
        else PickRandom(held, Enumerable.Range(0, Count).ToArray(), validationCount, new ShuffleRng(seed, 0));

        var train = new List<int>(Count - validationCount);
        var validation = new List<int>(validationCount);
        for (int i = 0; i < Count; i++) (held[i] ? validation : train).Add(i);
        string how = stratified ? "stratified" : "random";
        return new DatasetSplit(
            Select(train.ToArray(), $"{Source} ({how} split seed {seed}: {train.Count} training)"),
            Select(validation.ToArray(), $"{Source} ({how} split seed {seed}: {validation.Count} validation)"));
    }

    // Marks 'count' of 'candidates' as held out: the first 'count' of a seeded Fisher-Yates shuffle.
    private static void PickRandom(bool[] held, int[] candidates, int count, ShuffleRng rng)
    {
        rng.Shuffle(candidates);
        for (int i = 0; i < count; i++) held[candidates[i]] = true;
    }

    private void PickStratified(bool[] held, double fraction, int total, ulong seed)
    {
        int classes = ClassCount;
        var members = new List<int>[classes];
        for (int k = 0; k < classes; k++) members[k] = [];
        ReadOnlySpan<int> labels = _labels.Span;
        for (int i = 0; i < labels.Length; i++) members[labels[i]].Add(i);

        // Largest-remainder apportionment of 'total' over the classes by their exact shares fraction * n_k.
        var quota = new int[classes];
        var remainder = new double[classes];
        int given = 0;
        for (int k = 0; k < classes; k++)
        {
            double exact = fraction * members[k].Count;
            quota[k] = (int)Math.Floor(exact);
            remainder[k] = exact - quota[k];
            given += quota[k];
        }
        var order = Enumerable.Range(0, classes).OrderByDescending(k => remainder[k]).ThenBy(k => k).ToArray();
        for (int i = 0; given < total && i < order.Length; i++)
        {
            int k = order[i];
            if (quota[k] < members[k].Count) { quota[k]++; given++; }
        }
        for (int k = 0; k < classes; k++)
            PickRandom(held, members[k].ToArray(), quota[k], new ShuffleRng(HashClass(seed, k), 0));
    }

    // An independent stream per class, so one class's shuffle does not depend on the others' sizes.
    private static ulong HashClass(ulong seed, int k) => Initializers.HostRandom.Derive(seed, (ulong)k + 1);
}

using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>Random and stratified train/validation splits: sizes, disjointness, class proportions, determinism.</summary>
public sealed class DatasetSplitTests
{
    // Sample i has every pixel equal to i, so a split's samples can be identified from their pixels.
    private static Dataset Identified(int[] labels, int classes)
    {
        var x = new float[labels.Length * 2];
        for (int i = 0; i < labels.Length; i++) x[2 * i] = x[2 * i + 1] = i;
        return new Dataset(x, labels, TensorShape.Of(2), Enumerable.Range(0, classes).Select(k => $"c{k}").ToArray(), "identified");
    }

    private static int[] Ids(Dataset d) => Enumerable.Range(0, d.Count).Select(i => (int)d.GetImage(i).Span[0]).ToArray();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SplitsArePartitionsInDatasetOrderAndDependOnlyOnTheSeed(bool stratified)
    {
        var labels = Enumerable.Range(0, 103).Select(i => i % 7 == 0 ? 1 : i % 3 == 0 ? 2 : 0).ToArray();
        var data = Identified(labels, 3);
        var (train, validation) = data.Split(0.2, seed: 5, stratified);
        Assert.Equal(21, validation.Count); // round(0.2 * 103) = 20.6 -> 21
        Assert.Equal(82, train.Count);
        var t = Ids(train);
        var v = Ids(validation);
        Assert.Empty(t.Intersect(v));
        Assert.Equal(Enumerable.Range(0, 103), t.Concat(v).Order());
        Assert.Equal(t.Order(), t); // dataset order is kept
        Assert.Equal(v.Order(), v);
        for (int i = 0; i < v.Length; i++) Assert.Equal(labels[v[i]], validation.Labels.Span[i]);

        var again = data.Split(0.2, seed: 5, stratified);
        Assert.Equal(v, Ids(again.Validation));
        Assert.NotEqual(v, Ids(data.Split(0.2, seed: 6, stratified).Validation));
    }

    [Fact]
    public void StratifiedSplitKeepsEveryClassShareWithinOneSample()
    {
        // Classes of 50, 30, 15 and 5 samples; 25% validation: exact shares 12.5, 7.5, 3.75, 1.25 (total 25).
        var labels = Enumerable.Repeat(0, 50).Concat(Enumerable.Repeat(1, 30)).Concat(Enumerable.Repeat(2, 15)).Concat(Enumerable.Repeat(3, 5)).ToArray();
        var data = Identified(labels, 4);
        for (ulong seed = 0; seed < 5; seed++)
        {
            var (train, validation) = data.Split(0.25, seed, stratified: true);
            Assert.Equal(25, validation.Count);
            var per = validation.CountPerClass();
            double[] exact = [12.5, 7.5, 3.75, 1.25];
            for (int k = 0; k < 4; k++) Assert.InRange(per[k], Math.Floor(exact[k]), Math.Ceiling(exact[k]));
            Assert.Equal(data.CountPerClass(), train.CountPerClass().Zip(per, (a, b) => a + b));
        }
        // A random split of the same data misses the proportions on some seed; the stratified one never does.
        bool randomMisses = Enumerable.Range(0, 20).Any(s => data.Split(0.25, (ulong)s).Validation.CountPerClass()[3] is 0 or > 2);
        Assert.True(randomMisses);
    }

    [Fact]
    public void BadFractionsAndStratifiedFloatTargetsAreRefused()
    {
        var data = Identified([0, 1, 0, 1], 2);
        Assert.Throws<ConvNetArgumentException>(() => data.Split(0, 1));
        Assert.Throws<ConvNetArgumentException>(() => data.Split(1, 1));
        Assert.Contains("both need at least one", Assert.Throws<ConvNetArgumentException>(() => data.Split(0.1, 1)).Message);
        var ae = data.AsAutoencoder();
        Assert.Equal(2, ae.Split(0.5, 1).Validation.Count);
        Assert.Contains("stratified split needs class-index targets",
            Assert.Throws<ConvNetArgumentException>(() => ae.Split(0.5, 1, stratified: true)).Message);
    }
}

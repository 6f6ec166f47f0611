using ConvNet.Gpu.Data;
using ConvNet.Gpu.Initializers;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

/// <summary>
/// The sample transforms against independent descriptions of what they must produce: a crop is exactly one window of
/// the padded image, a flip is the mirror or the identity, erasing changes exactly one rectangle of the allowed area
/// and aspect, normalization is (x - mean) / std per channel with float64 statistics.
/// </summary>
public sealed class TransformTests
{
    // Pixel (c, y, x) of an image gets a distinct value, so a crop window can be located from its contents.
    private static float[] Distinct(int c, int h, int w) => Enumerable.Range(0, c * h * w).Select(i => 1f + i).ToArray();

    private static TensorShape Image(int c, int h, int w) => new([c, h, w], ["C", "H", "W"]);

    // The padded image's value at padded coordinates (y, x): the pixel, or fill in the border.
    private static float Padded(float[] image, int c, int h, int w, int p, int ch, int y, int x, float fill) =>
        y < p || y >= h + p || x < p || x >= w + p ? fill : image[(ch * h + y - p) * w + x - p];

    [Theory]
    [InlineData(3, 8, 8, 8, 8, 2)]  // CIFAR-style: same size, padding
    [InlineData(1, 9, 7, 5, 4, 0)]  // smaller window, no padding
    [InlineData(2, 4, 4, 6, 5, 1)]  // window larger than the image, inside the padded one
    public void RandomCropIsExactlyOneWindowOfThePaddedImageAndReachesEveryOffset(int c, int h, int w, int ch, int cw, int p)
    {
        var crop = new RandomCrop(ch, cw, p, fill: -5f);
        var image = Distinct(c, h, w);
        var pipeline = new TransformPipeline(crop);
        Assert.Equal([c, ch, cw], pipeline.OutputShape(Image(c, h, w)).Dimensions);
        int offsetsY = h + 2 * p - ch + 1, offsetsX = w + 2 * p - cw + 1;
        var seen = new HashSet<(int, int)>();
        for (int index = 0; index < 400; index++)
        {
            var output = pipeline.Apply(image, Image(c, h, w), seed: 1, epoch: 0, index);
            var matches = new List<(int, int)>();
            for (int oy = 0; oy < offsetsY; oy++)
                for (int ox = 0; ox < offsetsX; ox++)
                {
                    bool all = true;
                    for (int k = 0; k < c && all; k++)
                        for (int y = 0; y < ch && all; y++)
                            for (int x = 0; x < cw && all; x++)
                                all = output[(k * ch + y) * cw + x] == Padded(image, c, h, w, p, k, oy + y, ox + x, -5f);
                    if (all) matches.Add((oy, ox));
                }
            Assert.Single(matches);
            seen.Add(matches[0]);
        }
        Assert.Equal(offsetsY * offsetsX, seen.Count); // every offset is drawn
    }

    [Fact]
    public void RandomCropRefusesAWindowLargerThanThePaddedImage()
    {
        var e = Assert.Throws<ShapeMismatchException>(() => new TransformPipeline(new RandomCrop(12, padding: 1)).OutputShape(Image(1, 8, 8)));
        Assert.Contains("the padded image is 10x10", e.Message);
        Assert.Throws<ShapeMismatchException>(() => new RandomCrop(4).OutputShape(TensorShape.Of(16)));
        Assert.Throws<ConvNetArgumentException>(() => new RandomCrop(0));
        Assert.Throws<ConvNetArgumentException>(() => new RandomCrop(4, padding: -1));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(1.0)]
    public void HorizontalFlipMirrorsEveryRowWithItsProbability(double probability)
    {
        var image = Distinct(2, 3, 5);
        var mirrored = new float[image.Length];
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 5; x++)
                    mirrored[(c * 3 + y) * 5 + x] = image[(c * 3 + y) * 5 + 4 - x];
        var pipeline = new TransformPipeline(new RandomHorizontalFlip(probability));
        int flips = 0;
        const int n = 2000;
        for (int index = 0; index < n; index++)
        {
            var output = pipeline.Apply(image, Image(2, 3, 5), seed: 3, epoch: 1, index);
            if (output.SequenceEqual(mirrored)) flips++;
            else Assert.Equal(image, output);
        }
        // Binomial(2000, p): 5 standard deviations is at most 112 flips either way.
        Assert.InRange(flips, probability * n - 112, probability * n + 112);
        if (probability is 0 or 1) Assert.Equal(probability * n, flips);
    }

    [Fact]
    public void RandomErasingChangesOneRectangleOfTheAllowedAreaAndAspect()
    {
        const int h = 20, w = 24;
        var erase = new RandomErasing(probability: 0.7, minArea: 0.05, maxArea: 0.3, minAspect: 0.5, maxAspect: 2.0, value: -1f);
        var image = Distinct(3, h, w);
        var pipeline = new TransformPipeline(erase);
        int erased = 0;
        for (int index = 0; index < 500; index++)
        {
            var output = pipeline.Apply(image, Image(3, h, w), seed: 9, epoch: 0, index);
            var changed = Enumerable.Range(0, h * w).Where(i => output[i] != image[i]).ToArray();
            if (changed.Length == 0) continue;
            erased++;
            int top = changed.Min(i => i / w), bottom = changed.Max(i => i / w), left = changed.Min(i => i % w), right = changed.Max(i => i % w);
            int rh = bottom - top + 1, rw = right - left + 1;
            Assert.Equal(rh * rw, changed.Length); // one solid rectangle
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < h * w; i++)
                {
                    bool inside = i / w >= top && i / w <= bottom && i % w >= left && i % w <= right;
                    Assert.Equal(inside ? -1f : image[c * h * w + i], output[c * h * w + i]);
                }
            Assert.True(rh < h && rw < w);
            // rh = round(sqrt(s A r)) and rw = round(sqrt(s A / r)), so the unrounded sides lie within 0.5 of them: some
            // area share s in [0.05, 0.3] and aspect r in [0.5, 2] must be consistent with the rectangle.
            double area = h * w;
            Assert.True((rh + 0.5) * (rw + 0.5) / area >= 0.05 && (rh - 0.5) * (rw - 0.5) / area <= 0.3, $"{rh}x{rw}: area share out of range");
            Assert.True((rh + 0.5) / (rw - 0.5) >= 0.5 && (rh - 0.5) / (rw + 0.5) <= 2.0, $"{rh}x{rw}: aspect out of range");
        }
        Assert.InRange(erased, 0.7 * 500 - 60, 0.7 * 500 + 60);
    }

    [Fact]
    public void RandomErasingWithNoiseWritesStandardNormalValues()
    {
        var erase = new RandomErasing(probability: 1, minArea: 0.3, maxArea: 0.3, minAspect: 1, maxAspect: 1, randomValues: true);
        var image = new float[1 * 40 * 40];
        var values = new List<float>();
        for (int index = 0; index < 20; index++)
            values.AddRange(new TransformPipeline(erase).Apply(image, Image(1, 40, 40), 2, 0, index).Where(v => v != 0f));
        double mean = values.Average(v => (double)v), variance = values.Average(v => (v - mean) * (v - mean));
        Assert.True(values.Count > 5000);
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(variance, 0.93, 1.07);
    }

    [Fact]
    public void ChannelNormalizationMatchesFloat64StatisticsPerChannel()
    {
        var data = DatasetTargetsTests.SyntheticImages(37, channels: 3, size: 5);
        var norm = ChannelNormalization.FromDataset(data);
        var x = data.Images.ToArray();
        for (int c = 0; c < 3; c++)
        {
            var values = Enumerable.Range(0, 37).SelectMany(n => x.Skip((n * 3 + c) * 25).Take(25)).Select(v => (double)v).ToArray();
            double mean = values.Average();
            double std = Math.Sqrt(values.Average(v => (v - mean) * (v - mean)));
            Assert.Equal((float)mean, norm.Mean[c]);
            Assert.Equal((float)std, norm.Std[c]);
        }
        var sample = data.GetImage(4).ToArray();
        var expected = sample.Select((v, i) => (v - norm.Mean[i / 25]) / norm.Std[i / 25]).ToArray();
        var output = new TransformPipeline(norm).Apply(sample, data.SampleShape, 0, 0, 4);
        Assert.Equal(expected, output);
        Assert.Contains("has 3 channel(s)", Assert.Throws<ShapeMismatchException>(() => norm.OutputShape(Image(1, 5, 5))).Message);
        Assert.Throws<ConvNetArgumentException>(() => new ChannelNormalization([0f], [0f]));
        Assert.Throws<ConvNetArgumentException>(() => new ChannelNormalization([0f, 1f], [1f]));
        var constant = new Dataset(new float[2 * 4], [0, 0], TensorShape.Of(1, 2, 2), ["a"], "flat");
        Assert.Contains("channel 0 has a standard deviation of 0", Assert.Throws<ConvNetArgumentException>(() => ChannelNormalization.FromDataset(constant)).Message);
    }

    [Fact]
    public void EveryDrawDependsOnlyOnSeedEpochSampleAndStep()
    {
        var pipeline = new TransformPipeline(new RandomCrop(6, padding: 2), new RandomHorizontalFlip(), new RandomErasing(probability: 1));
        var image = Distinct(1, 6, 6);
        var a = pipeline.Apply(image, Image(1, 6, 6), seed: 4, epoch: 2, index: 10);
        Assert.Equal(a, pipeline.Apply(image, Image(1, 6, 6), seed: 4, epoch: 2, index: 10));
        // Other epochs, samples and seeds give other augmentations (checked over several, any one may coincide).
        Assert.Contains(Enumerable.Range(0, 5), e => !pipeline.Apply(image, Image(1, 6, 6), 4, e + 3, 10).SequenceEqual(a));
        Assert.Contains(Enumerable.Range(0, 5), i => !pipeline.Apply(image, Image(1, 6, 6), 4, 2, i + 11).SequenceEqual(a));
        Assert.Contains(Enumerable.Range(0, 5), s => !pipeline.Apply(image, Image(1, 6, 6), (ulong)s + 5, 2, 10).SequenceEqual(a));
        // Adding a step after the others does not change their draws.
        var longer = new TransformPipeline(new RandomCrop(6, padding: 2), new RandomHorizontalFlip(), new RandomErasing(probability: 1),
            new RandomHorizontalFlip(probability: 0));
        Assert.Equal(a, longer.Apply(image, Image(1, 6, 6), seed: 4, epoch: 2, index: 10));
    }

    /// <summary>A user-written transform: adds its sample index, through the public API only.</summary>
    private sealed class AddIndex : SampleTransform
    {
        public override string Name => "add_index";

        public override void Apply(TransformSample sample, HostRandom random)
        {
            foreach (ref float v in sample.Input) v += sample.Index;
        }
    }

    [Fact]
    public void CustomTransformsWorkOnVectorsToo()
    {
        var output = new TransformPipeline(new AddIndex()).Apply([1f, 2f], TensorShape.Of(2), seed: 0, epoch: 0, index: 3);
        Assert.Equal([4f, 5f], output);
        Assert.Contains("needs image samples", Assert.Throws<ShapeMismatchException>(() =>
            new TransformPipeline(new RandomHorizontalFlip()).OutputShape(TensorShape.Of(2))).Message);
    }
}

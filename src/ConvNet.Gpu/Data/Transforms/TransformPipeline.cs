using ConvNet.Gpu.Initializers;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Transforms applied in order to every training sample by a <see cref="DataLoader"/> (e.g. random crop with padding,
/// horizontal flip, random erasing). Seeded and deterministic: step s of sample i in epoch e draws from its own
/// generator, seeded from (loader seed, e, i, s) alone, so the result does not depend on the batch size, the batch a
/// sample falls in, the number of worker threads or data-parallel ranks, or whether the epoch was resumed mid-way.
/// </summary>
/// <example>
/// <code>
/// var augment = new TransformPipeline(new RandomCrop(32, padding: 4), new RandomHorizontalFlip());
/// trainer.Fit(train, new TrainingOptions { Transforms = augment, ... });
/// </code>
/// </example>
public sealed class TransformPipeline
{
    /// <summary>Creates a pipeline of <paramref name="steps"/>, applied in the given order.</summary>
    /// <exception cref="ArgumentNullException">A step is null.</exception>
    public TransformPipeline(params IReadOnlyList<SampleTransform> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        for (int i = 0; i < steps.Count; i++)
            if (steps[i] is null) throw new ArgumentNullException(nameof(steps), $"Transform step {i} is null.");
        Steps = steps.ToArray();
    }

    /// <summary>The steps, in order.</summary>
    public IReadOnlyList<SampleTransform> Steps { get; }

    /// <summary>Whether the pipeline has no step (it then leaves samples as they are).</summary>
    public bool IsEmpty => Steps.Count == 0;

    /// <summary>The sample shape after every step, checking that each step takes its input's shape.</summary>
    /// <exception cref="ShapeMismatchException">A step does not accept the shape it would get.</exception>
    public TensorShape OutputShape(TensorShape input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var shape = input;
        foreach (var step in Steps) shape = step.OutputShape(shape);
        return shape;
    }

    /// <summary>
    /// Whether a target of <paramref name="targetShape"/> moves with geometric steps: a float target (Ct, H, W) whose
    /// height and width are the input's (a mask or an image), when the pipeline has a geometric step.
    /// </summary>
    public bool MovesTarget(TensorShape input, TensorShape? targetShape) =>
        targetShape is { Rank: 3 } t && input.Rank == 3 && t[1] == input[1] && t[2] == input[2] && Steps.Any(s => s.IsGeometric);

    /// <summary>The spatial target's shape after every step (only geometric steps change it).</summary>
    internal TensorShape TargetOutputShape(TensorShape input, TensorShape target)
    {
        var shape = input;
        var t = target;
        foreach (var step in Steps)
        {
            var next = step.OutputShape(shape);
            if (step.IsGeometric && !next.SameDimensions(shape))
                t = new TensorShape([t[0], next[1], next[2]], ["C", "H", "W"]);
            shape = next;
        }
        return t;
    }

    /// <summary>
    /// Runs every step on <paramref name="sample"/> (loaded with sample <c>index</c> of <c>epoch</c>), each with the
    /// generator of (seed, epoch, index, step). The sample carries its spatial target only when <see cref="MovesTarget"/>;
    /// geometric steps transform it, the others leave it alone.
    /// </summary>
    internal void Apply(TransformSample sample, ulong seed)
    {
        ulong sampleSeed = SampleSeed(seed, sample.Epoch, sample.Index);
        for (int s = 0; s < Steps.Count; s++)
        {
            var step = Steps[s];
            step.Apply(sample, new HostRandom(HostRandom.Derive(sampleSeed, (ulong)s + 1)));
            sample.CheckCommitted(step);
        }
    }

    /// <summary>
    /// Applies the pipeline to one input sample outside a loader (to look at what an epoch's augmentation does):
    /// the result is exactly what a <see cref="DataLoader"/> with <paramref name="seed"/> gives sample
    /// <paramref name="index"/> in <paramref name="epoch"/>.
    /// </summary>
    /// <param name="input">The sample's values, <paramref name="shape"/> row-major.</param>
    /// <param name="shape">The sample's shape.</param>
    /// <param name="seed">The loader's seed.</param>
    /// <param name="epoch">The epoch.</param>
    /// <param name="index">The sample's dataset index.</param>
    /// <returns>The transformed values, <see cref="OutputShape"/> row-major.</returns>
    /// <exception cref="ShapeMismatchException">The pipeline does not take <paramref name="shape"/>, or the length disagrees.</exception>
    public float[] Apply(ReadOnlySpan<float> input, TensorShape shape, ulong seed, int epoch, int index)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (input.Length != shape.ElementCount)
            throw new ShapeMismatchException($"TransformPipeline.Apply: {input.Length} values do not make a sample of {shape}.");
        var output = OutputShape(shape);
        var sample = new TransformSample();
        sample.Load(index, epoch, input, shape, [], null);
        Apply(sample, seed);
        if (!sample.Shape.SameDimensions(output))
            throw new InvalidOperationException($"The pipeline promised samples of {output} but produced {sample.Shape}.");
        return sample.Input.ToArray();
    }

    // Hashes (seed, epoch, index) so that neighbouring samples and epochs get unrelated streams.
    private static ulong SampleSeed(ulong seed, int epoch, int index) =>
        HostRandom.Derive(HostRandom.Derive(seed ^ 0xA0761D6478BD642FUL, (ulong)(uint)epoch + 1), (ulong)(uint)index + 1);

    /// <summary>The steps' names joined with " -> ", or "none".</summary>
    public override string ToString() => IsEmpty ? "none" : string.Join(" -> ", Steps.Select(s => s.Name));
}

using System.Diagnostics;
using ConvNet.Gpu.Distributed;
using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Training.Distributed;

/// <summary>
/// The parameters cut into buckets of about <c>bucketBytes</c>, in the order backward produces their gradients (last
/// layer first). When the last layer of a bucket has run its backward pass, the bucket's gradients are copied into its
/// host buffer and its all-reduce starts, while backward goes on with the layers below; <see cref="Finish"/> starts
/// what is left, waits for every bucket in order and writes the sums back into the gradients.
/// The final bucket carries <see cref="StatSlots"/> extra floats (the step's weighted loss and correct count), so the
/// ranks agree on the loss before anyone updates, at no extra message.
/// </summary>
internal sealed class GradientBuckets
{
    /// <summary>Extra floats at the end of the final bucket: weighted loss, correct predictions.</summary>
    public const int StatSlots = 2;

    private sealed class Bucket(Parameter[] parameters, int[] offsets, int floats, int index)
    {
        public Parameter[] Parameters { get; } = parameters;
        public int[] Offsets { get; } = offsets;
        public float[] Host { get; } = GC.AllocateArray<float>(floats, pinned: true);
        public int Index { get; } = index;
        public int Ready;
        public IPendingReduction? Pending;
    }

    private readonly List<Bucket> _buckets = [];
    private readonly Dictionary<Layer, List<(Bucket Bucket, int Slot)>> _byLayer = new(ReferenceEqualityComparer.Instance);
    private int _nextToStart;

    /// <summary>Plans the buckets of <paramref name="model"/>'s parameters.</summary>
    public GradientBuckets(Sequential model, long bucketBytes)
    {
        // Readiness order: backward walks the top-level layers from last to first; a composite layer (Residual) is
        // done when its whole block is.
        var order = new List<(Layer Layer, Parameter Parameter)>();
        for (int i = model.Layers.Count - 1; i >= 0; i--)
            foreach (var p in model.Layers[i].Parameters) order.Add((model.Layers[i], p));

        var current = new List<(Layer, Parameter)>();
        long bytes = 0;
        void Close(bool final)
        {
            if (current.Count == 0 && !final) return;
            var offsets = new int[current.Count];
            int floats = 0;
            for (int k = 0; k < current.Count; k++)
            {
                offsets[k] = floats;
                floats += checked((int)current[k].Item2.Value.ElementCount);
            }
            var bucket = new Bucket(current.Select(c => c.Item2).ToArray(), offsets, floats + (final ? StatSlots : 0), _buckets.Count);
            for (int k = 0; k < current.Count; k++)
            {
                var layer = current[k].Item1;
                if (!_byLayer.TryGetValue(layer, out var list)) _byLayer[layer] = list = [];
                list.Add((bucket, k));
            }
            _buckets.Add(bucket);
            current.Clear();
            bytes = 0;
        }
        foreach (var entry in order)
        {
            long size = entry.Parameter.Value.ElementCount * 4;
            if (current.Count > 0 && bytes + size > bucketBytes) Close(false);
            current.Add(entry);
            bytes += size;
        }
        Close(true);
    }

    /// <summary>Number of buckets.</summary>
    public int Count => _buckets.Count;

    /// <summary>Floats all-reduced per step (gradients plus the stat slots).</summary>
    public long FloatsPerStep => _buckets.Sum(b => (long)b.Host.Length);

    /// <summary>Forgets the previous step.</summary>
    public void Begin()
    {
        foreach (var b in _buckets)
        {
            b.Ready = 0;
            b.Pending = null;
        }
        _nextToStart = 0;
    }

    /// <summary>
    /// Called after <paramref name="layer"/>'s backward pass: buckets it completes start their all-reduce, in bucket
    /// order (every rank starts them in the same order), and the reductions in flight make progress.
    /// </summary>
    public void LayerDone(Layer layer, ICollectives collectives, long step)
    {
        if (_byLayer.TryGetValue(layer, out var slots))
            foreach (var (bucket, _) in slots) bucket.Ready++;
        while (_nextToStart < _buckets.Count - 1 && _buckets[_nextToStart].Ready == _buckets[_nextToStart].Parameters.Length)
            Start(_buckets[_nextToStart++], collectives, step, computed: true);
        for (int i = 0; i < _nextToStart; i++) _buckets[i].Pending!.Poll();
    }

    /// <summary>
    /// Starts the buckets not started yet (with the step's weighted loss and correct count in the final one), waits for all,
    /// and writes the sums into the gradients. Returns the summed stats. With <paramref name="computed"/> false (a rank
    /// whose shard was empty) this rank contributes zeros.
    /// </summary>
    public (double Loss, double Correct) Finish(ICollectives collectives, long step, float weightedLoss, float correct, bool computed,
        out TimeSpan exposedWait)
    {
        var final = _buckets[^1];
        final.Host[^2] = weightedLoss;
        final.Host[^1] = correct;
        while (_nextToStart < _buckets.Count) Start(_buckets[_nextToStart++], collectives, step, computed);
        var clock = Stopwatch.StartNew();
        foreach (var b in _buckets) b.Pending!.Wait();
        exposedWait = clock.Elapsed;
        foreach (var b in _buckets)
            for (int k = 0; k < b.Parameters.Length; k++)
                b.Parameters[k].Gradient.Upload(b.Host.AsSpan(b.Offsets[k], (int)b.Parameters[k].Value.ElementCount));
        return (final.Host[^2], final.Host[^1]);
    }

    private static void Start(Bucket b, ICollectives collectives, long step, bool computed)
    {
        int gradientFloats = b.Offsets.Length == 0 ? 0 : b.Offsets[^1] + (int)b.Parameters[^1].Value.ElementCount;
        if (computed)
            for (int k = 0; k < b.Parameters.Length; k++)
                b.Parameters[k].Gradient.Download(b.Host.AsSpan(b.Offsets[k], (int)b.Parameters[k].Value.ElementCount));
        else
            b.Host.AsSpan(0, gradientFloats).Clear();
        b.Pending = collectives.StartAllReduceSum(b.Host, $"all-reduce of gradient bucket {b.Index} (step {step})");
    }
}

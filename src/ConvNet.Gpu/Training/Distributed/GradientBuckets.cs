using System.Diagnostics;
using ConvNet.Gpu.Distributed;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Training.Distributed;

/// <summary>
/// The parameters cut into buckets of about <c>bucketBytes</c>, in the order backward produces their gradients (last
/// layer first). When the last layer of a bucket has run its backward pass, the bucket's gradients are packed into its
/// flat buffer and its all-reduce starts, while backward goes on with the layers below; <see cref="Finish"/> starts
/// what is left, waits for every bucket in order and writes the sums back into the gradients.
/// The final bucket carries <see cref="StatSlots"/> extra floats (the step's weighted loss, its correct count and the
/// count of scored predictions: samples for class targets, elements for multi-hot or mask targets), so the ranks agree
/// on the loss before anyone updates, at no extra message. The counts are exact while a global batch scores fewer
/// than 2^24 predictions (float32 integers; the all-reduce sums in float64).
/// Two engines: <see cref="ICollectives"/> on a pinned host buffer (gradients downloaded and uploaded: a memcpy on the
/// CPU backend), or <see cref="IDeviceCollectives"/> (NCCL) on a flat tensor of the model's backend, packed and
/// unpacked with backend copies, never leaving the device.
/// </summary>
internal sealed class GradientBuckets : IDisposable
{
    /// <summary>Extra floats at the end of the final bucket: weighted loss, correct predictions, scored predictions.</summary>
    public const int StatSlots = 3;

    private sealed class Bucket(Parameter[] parameters, int[] offsets, int floats, int index)
    {
        public Parameter[] Parameters { get; } = parameters;
        public int[] Offsets { get; } = offsets;
        public int Floats { get; } = floats;
        public int Index { get; } = index;
        public float[]? Host; // host engine: pinned
        public Tensor? Flat; // device engine: (Floats) on the model's backend
        public Tensor[] Views = [];
        public int Ready;
        public IPendingReduction? Pending;
        public int GradientFloats => Offsets.Length == 0 ? 0 : Offsets[^1] + (int)Parameters[^1].Value.ElementCount;
    }

    private readonly List<Bucket> _buckets = [];
    private readonly Dictionary<Layer, List<Bucket>> _byLayer = new(ReferenceEqualityComparer.Instance);
    private readonly IDeviceCollectives? _device;
    private readonly float[] _stats = new float[StatSlots];
    private int _nextToStart;

    /// <summary>Plans the buckets of <paramref name="model"/>'s parameters; with <paramref name="device"/> they live on the model's backend.</summary>
    public GradientBuckets(Model model, long bucketBytes, IDeviceCollectives? device)
    {
        _device = device;
        // Readiness order: backward walks the layers from last to first (Model.Backward reports each one as its
        // gradients become final); a composite layer (Residual) is done when its whole block is. Only the trainable
        // parameters take part: frozen ones have no gradient.
        var trainable = model.Parameters.ToHashSet();
        var order = new List<(Layer Layer, Parameter Parameter)>();
        for (int i = model.Layers.Count - 1; i >= 0; i--)
            foreach (var p in model.Layers[i].Parameters)
                if (trainable.Contains(p)) order.Add((model.Layers[i], p));

        var current = new List<(Layer Layer, Parameter Parameter)>();
        long bytes = 0;
        void Close(bool final)
        {
            if (current.Count == 0 && !final) return;
            var offsets = new int[current.Count];
            int floats = 0;
            for (int k = 0; k < current.Count; k++)
            {
                offsets[k] = floats;
                floats = checked(floats + (int)current[k].Parameter.Value.ElementCount);
            }
            var bucket = new Bucket(current.Select(c => c.Parameter).ToArray(), offsets, floats + (final ? StatSlots : 0), _buckets.Count);
            if (device is null) bucket.Host = GC.AllocateArray<float>(bucket.Floats, pinned: true);
            else
            {
                bucket.Flat = Persistent.Allocate(model.Backend, TensorShape.Vector(bucket.Floats));
                bucket.Views = current.Select((c, k) => bucket.Flat.View(c.Parameter.Shape, offsets[k])).ToArray();
            }
            foreach (var (layer, _) in current)
            {
                if (!_byLayer.TryGetValue(layer, out var list)) _byLayer[layer] = list = [];
                list.Add(bucket);
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
    public long FloatsPerStep => _buckets.Sum(b => (long)b.Floats);

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
    /// order (every rank starts them in the same order), and the host reductions in flight make progress.
    /// </summary>
    public void LayerDone(Layer layer, ICollectives collectives, long step)
    {
        if (_byLayer.TryGetValue(layer, out var buckets))
            foreach (var bucket in buckets) bucket.Ready++;
        while (_nextToStart < _buckets.Count - 1 && _buckets[_nextToStart].Ready == _buckets[_nextToStart].Parameters.Length)
            Start(_buckets[_nextToStart++], collectives, step, computed: true);
        for (int i = 0; i < _nextToStart; i++) _buckets[i].Pending?.Poll();
    }

    /// <summary>
    /// Starts the buckets not started yet (the step's weighted loss, correct and scored counts in the final one), waits for
    /// all, and writes the sums into the gradients. Returns the summed stats. With <paramref name="computed"/> false (a
    /// rank whose shard was empty) this rank contributes zeros.
    /// </summary>
    public (double Loss, double Correct, double Scored) Finish(ICollectives collectives, long step, float weightedLoss, float correct,
        float scored, bool computed, out TimeSpan exposedWait)
    {
        _stats[0] = weightedLoss;
        _stats[1] = correct;
        _stats[2] = scored;
        while (_nextToStart < _buckets.Count) Start(_buckets[_nextToStart++], collectives, step, computed);
        var clock = Stopwatch.StartNew();
        if (_device is null)
            foreach (var b in _buckets) b.Pending!.Wait();
        else
            _device.Synchronize();
        exposedWait = clock.Elapsed;

        var final = _buckets[^1];
        foreach (var b in _buckets)
            for (int k = 0; k < b.Parameters.Length; k++)
            {
                var gradient = b.Parameters[k].Gradient;
                if (b.Host is not null) gradient.Upload(b.Host.AsSpan(b.Offsets[k], (int)gradient.ElementCount));
                else gradient.Backend.Copy(b.Views[k], gradient);
            }
        if (final.Host is not null) return (final.Host[^3], final.Host[^2], final.Host[^1]);
        using var statsView = final.Flat!.View(TensorShape.Vector(StatSlots), final.Floats - StatSlots);
        statsView.Download(_stats);
        return (_stats[0], _stats[1], _stats[2]);
    }

    private void Start(Bucket b, ICollectives collectives, long step, bool computed)
    {
        bool final = ReferenceEquals(b, _buckets[^1]);
        if (b.Host is not null)
        {
            if (computed)
                for (int k = 0; k < b.Parameters.Length; k++)
                    b.Parameters[k].Gradient.Download(b.Host.AsSpan(b.Offsets[k], (int)b.Parameters[k].Value.ElementCount));
            else
                b.Host.AsSpan(0, b.GradientFloats).Clear();
            if (final) _stats.CopyTo(b.Host, b.Floats - StatSlots);
            b.Pending = collectives.StartAllReduceSum(b.Host, $"all-reduce of gradient bucket {b.Index} (step {step})");
            return;
        }
        var backend = b.Flat!.Backend;
        if (computed)
            for (int k = 0; k < b.Parameters.Length; k++) backend.Copy(b.Parameters[k].Gradient, b.Views[k]);
        else
            backend.Fill(b.Flat, 0f);
        if (final)
        {
            using var statsView = b.Flat.View(TensorShape.Vector(StatSlots), b.Floats - StatSlots);
            statsView.Upload(_stats);
        }
        _device!.AllReduceSum(b.Flat);
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        foreach (var b in _buckets)
        {
            foreach (var v in b.Views) v.Dispose();
            b.Flat?.Dispose();
        }
    }
}

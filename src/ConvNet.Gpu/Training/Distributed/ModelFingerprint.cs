using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Distributed;

namespace ConvNet.Gpu.Training.Distributed;

/// <summary>
/// What every rank of a data-parallel run must agree on, as named fields (architecture, weights, optimizer, batch
/// size, data, order, position, ...). Large values are SHA-256 digests. The fields are all-gathered once at start-up
/// (a few hundred bytes per rank) and every rank compares them with rank 0's, so all ranks fail together, before the
/// first step, with the same message naming the field and the ranks that differ.
/// </summary>
internal static class ModelFingerprint
{
    /// <summary>The fields of this rank.</summary>
    public static IReadOnlyList<(string Field, string Value)> Of(Trainer trainer, Dataset train, TrainingOptions options, DataParallel parallel)
    {
        var model = trainer.Model;
        string Digest(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes))[..16];
        string WeightDigest()
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var (key, p) in model.NamedParameters)
            {
                hash.AppendData(Encoding.UTF8.GetBytes(key));
                var values = p.Value.ToArray();
                hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()));
            }
            foreach (var (key, s) in model.NamedState)
            {
                hash.AppendData(Encoding.UTF8.GetBytes(key));
                hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(s.Value.ToArray().AsSpan()));
            }
            return Convert.ToHexString(hash.GetHashAndReset())[..16];
        }
        string Invariant(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        return
        [
            ("architecture", Digest(Encoding.UTF8.GetBytes(model.GetArchitecture().ToJsonString()))),
            ("parameters", Invariant($"{model.TrainableParameterCount}")),
            ("weights and running statistics", WeightDigest()),
            ("optimizer", trainer.Optimizer.GetConfig().ToJsonString()),
            ("optimizer steps", Invariant($"{trainer.Optimizer.StepCount}")),
            ("batch size", Invariant($"{options.BatchSize}")),
            ("epochs", Invariant($"{options.Epochs}")),
            ("max steps", Invariant($"{options.MaxSteps}")),
            ("data seed", Invariant($"{trainer.DataSeed}")),
            ("shuffle / drop last", Invariant($"{options.Shuffle} / {options.DropLast}")),
            ("training samples", Invariant($"{train.Count} of {train.SampleShape}")),
            ("training targets", train.HasLabels
                ? Digest(System.Runtime.InteropServices.MemoryMarshal.AsBytes(train.Labels.Span).ToArray())
                : Digest(System.Runtime.InteropServices.MemoryMarshal.AsBytes(train.Targets.Span).ToArray())),
            ("position", Invariant($"epoch {trainer.Position.Epoch}, batch {trainer.Position.Batch}, step {trainer.Position.GlobalStep}")),
            ("synchronized BatchNorm", Invariant($"{parallel.Options.SynchronizeBatchNorm}")),
            ("gradient bucket bytes", Invariant($"{parallel.Options.BucketBytes}")),
            ("non-finite loss policy", options.NonFiniteLoss.ToString()),
            ("backend kind", model.Backend.IsCuda ? "CUDA" : "CPU"),
        ];
    }

    /// <summary>All-gathers the fields and throws <see cref="DistributedMismatchException"/> on any difference.</summary>
    public static void Verify(ICollectives collectives, IReadOnlyList<(string Field, string Value)> fields)
    {
        string text = string.Join('\n', fields.Select(f => $"{f.Field}={f.Value}"));
        var all = collectives.AllGather(Encoding.UTF8.GetBytes(text), "start-up fingerprint all-gather");
        var parsed = all.Select(Parse).ToArray();
        var problems = new List<string>();
        foreach (var (field, _) in fields)
        {
            string rootValue = parsed[0].GetValueOrDefault(field, "(missing)");
            var differing = Enumerable.Range(1, parsed.Length - 1)
                .Where(r => parsed[r].GetValueOrDefault(field, "(missing)") != rootValue)
                .Select(r => $"rank {r} has {parsed[r].GetValueOrDefault(field, "(missing)")}").ToList();
            if (differing.Count > 0) problems.Add($"{field}: rank 0 has {rootValue}, {string.Join(", ", differing)}");
        }
        if (problems.Count > 0)
            throw new DistributedMismatchException(
                $"The {parsed.Length} ranks were started with different configurations (found at start-up, before any step): " +
                string.Join("; ", problems) + ". Start every rank with the same model, checkpoint, data and options.");
    }

    private static Dictionary<string, string> Parse(byte[] bytes)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string line in Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            int eq = line.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0) map[line[..eq]] = line[(eq + 1)..];
        }
        return map;
    }
}

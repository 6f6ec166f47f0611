using System.Globalization;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx;
using ConvNet.Gpu.Optimizers;

namespace ConvNet.Gpu.Cli.Engine;

/// <summary>Starting a run from an ONNX file (<c>convnet train --onnx</c>), and the metadata <c>convnet export</c> writes.</summary>
internal sealed partial class TrainingSession
{
    /// <summary>
    /// The metadata keys of the input normalization in the ONNX files <c>convnet export</c> wrote before the normalization
    /// moved into the model (<see cref="Import"/> still reads them); today's exports carry it as the model's first nodes.
    /// </summary>
    internal const string MeanKey = "convnet.normalization_mean", StdKey = "convnet.normalization_std";

    /// <summary>
    /// Where the input normalization of a session made by <see cref="Import"/> came from ("the file's metadata" or "the
    /// training data"); null for other sessions.
    /// </summary>
    public string? NormalizationSource { get; private init; }

    /// <summary>
    /// Imports the ONNX model at <paramref name="path"/> (a PyTorch export, one written by <c>convnet export</c>, ...) as a
    /// trainable graph model with a fresh optimizer, to fine-tune. The input normalization is a <see cref="Normalize"/>
    /// layer in the model: the model's own when it starts with one (a current <c>convnet export</c>), else one put in
    /// front with the file's recorded statistics (<see cref="MeanKey"/>, <see cref="StdKey"/>, an earlier export), else
    /// with the statistics measured on <paramref name="train"/>, as for a new run. A file that cannot be read or imported is a checkpoint error (exit code 4) naming the file and,
    /// where one is at fault, the node, op and attribute.
    /// </summary>
    public static TrainingSession Import(string path, IBackend backend, Dataset train, string optimizer, double learningRate, ulong seed, int batchSize)
    {
        Model? network = null;
        try
        {
            var metadata = OnnxModel.ReadMetadata(path);
            Normalization? recorded = Recorded(path, metadata);
            network = OnnxModel.Load(path, backend);
            string source;
            if (network.Layers.Count > 0 && network.Layers[0] is Normalize)
                source = "the model's own (its first layer)";
            else
            {
                var normalize = recorded is null ? Normalize.FromDataset(train) : new Normalize([recorded.Mean], [recorded.Std]);
                using Model bare = network;
                network = null;
                network = NormalizeModels.Prepend(bare, normalize);
                source = recorded is null ? "measured on the training data (the file records none)" : "the file's metadata";
            }
            return new TrainingSession(CustomModel, network, OptimizerRegistry.Create(optimizer, (float)learningRate), seed, batchSize)
            {
                NormalizationSource = source,
            };
        }
        catch (Exception ex) when (ex is OnnxFormatException or OnnxUnsupportedException or IOException or UnauthorizedAccessException)
        {
            network?.Dispose();
            throw CliException.CheckpointError(ex is FileNotFoundException ? $"the ONNX model to fine-tune does not exist: {path}"
                : $"cannot import {(ex.Message.StartsWith(path, StringComparison.Ordinal) ? ex.Message : $"{path}: {ex.Message}")}", ex);
        }
        catch
        {
            network?.Dispose();
            throw;
        }
    }

    // Both keys or neither; a half-written or unreadable normalization is refused rather than replaced by a guess.
    private static Normalization? Recorded(string path, IReadOnlyDictionary<string, string> metadata)
    {
        bool hasMean = metadata.TryGetValue(MeanKey, out var mean), hasStd = metadata.TryGetValue(StdKey, out var std);
        if (!hasMean && !hasStd) return null;
        if (hasMean && hasStd && float.TryParse(mean, NumberStyles.Float, CultureInfo.InvariantCulture, out float m)
            && float.TryParse(std, NumberStyles.Float, CultureInfo.InvariantCulture, out float s) && float.IsFinite(m) && float.IsFinite(s) && s > 0)
            return new Normalization(m, s);
        throw CliException.CheckpointError(
            $"{path}: its metadata records the input normalization incompletely or unreadably ({MeanKey} = '{mean}', {StdKey} = '{std}'); both must be numbers, the std positive.");
    }
}

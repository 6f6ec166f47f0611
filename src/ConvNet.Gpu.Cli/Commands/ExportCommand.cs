using System.CommandLine;
using System.Globalization;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using ConvNet.Gpu.Onnx;

namespace ConvNet.Gpu.Cli.Commands;

/// <summary>
/// <c>convnet export --checkpoint C --onnx F</c>: writes a checkpoint's model as an ONNX file for ONNX Runtime,
/// TensorRT, OpenVINO or the browser (through the library's <see cref="OnnxExport"/>), and says what input it expects.
/// </summary>
internal static class ExportCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliApp app)
    {
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "The checkpoint to export (e.g. out/lenet5/best.ckpt).", Required = true };
        var onnx = new Option<string>("--onnx", "-o") { Description = "The ONNX file to write (replaced atomically if it exists).", Required = true };
        var opset = CommonOptions.Int("--opset", $"The ONNX opset to target, {OnnxOpsets.Minimum} to {OnnxOpsets.Maximum}.", OnnxOpsets.Default, 1);
        var batch = CommonOptions.Int("--batch-size", "The batch size fixed in the file's input and output shapes.", 1, 1);
        var dynamic = new Option<bool>("--dynamic-batch") { Description = "Write the batch dimension as the symbol N, so a runtime accepts any batch size." };
        var command = new Command("export", "Export a checkpoint's model to ONNX (inference graph, current weights).") { checkpoint, onnx, opset, batch, dynamic };
        command.Validators.Add(r =>
        {
            if (r.GetResult(dynamic) is not null && r.GetResult(batch) is not null)
                r.AddError("--batch-size and --dynamic-batch exclude each other: a dynamic batch has no fixed size.");
        });
        command.SetAction(parse => Run(app.Console, parse.GetValue(checkpoint)!, parse.GetValue(onnx)!, parse.GetValue(opset), parse.GetValue(batch), parse.GetValue(dynamic)));
        return command;
    }

    private static int Run(CliConsole console, string checkpoint, string onnx, int opset, int batch, bool dynamicBatch)
    {
        string path = Path.GetFullPath(checkpoint);
        if (!File.Exists(path)) throw CliException.CheckpointError($"the checkpoint does not exist: {path}");
        if (!OnnxOpsets.IsSupported(opset))
            throw CliException.UsageError($"--opset must be {OnnxOpsets.Minimum} to {OnnxOpsets.Maximum}, got {opset}.");
        string output = Path.GetFullPath(onnx);
        string directory = Path.GetDirectoryName(output)!;
        if (!Directory.Exists(directory)) throw CliException.OutputError($"the directory of --onnx does not exist: {directory}");

        using IBackend backend = Backend.Cpu(1);
        using TrainingSession session = TrainingSession.Resume(path, backend, expectedModel: null, forTraining: false);
        var options = new OnnxExportOptions { Opset = opset, BatchSize = batch, DynamicBatch = dynamicBatch };
        Nn.Normalize? normalization;
        try
        {
            normalization = session.ExportOnnx(output, options);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw CliException.OutputError($"cannot write {output}: {ex.Message}", ex);
        }

        var (input, result) = session.ModelShapes;
        string n = dynamicBatch ? "N" : batch.ToString(CultureInfo.InvariantCulture);
        console.Note("Checkpoint:", $"{path}: {session.ModelName}, {session.ParameterCount:N0} parameters, after {session.Position.CompletedEpochs} epoch(s)");
        console.Line($"Wrote {output} ({new FileInfo(output).Length:N0} bytes, ONNX opset {opset}).");
        console.Line($"  input  'input'  float32 ({n}, {string.Join(", ", input.Dimensions)}): pixels scaled to [0, 1]" + (normalization is null ? "" :
            "; the model normalizes them itself, " + FormattableString.Invariant(
                $"(x - {string.Join("/", normalization.Mean.Select(m => m.ToString("0.######", CultureInfo.InvariantCulture)))}) / {string.Join("/", normalization.Std.Select(d => d.ToString("0.######", CultureInfo.InvariantCulture)))} (its first node)")));
        console.Line($"  output 'output' float32 ({n}, {string.Join(", ", result.Dimensions)}): {(result.Rank == 1 ? "class scores (logits; apply a softmax for probabilities)" : "the last layer's output")}");
        return ExitCodes.Success;
    }
}

using System.CommandLine;
using System.Globalization;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using Spectre.Console;

namespace ConvNet.Gpu.Cli.Commands;

/// <summary><c>convnet evaluate --checkpoint C</c>: test loss, accuracy, per-class recall and the confusion matrix of a saved model.</summary>
internal static class EvaluateCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliApp app)
    {
        var checkpoint = CommonOptions.OptionalPath("--checkpoint", "The checkpoint to evaluate (e.g. out/lenet5/best.ckpt).", "-c");
        checkpoint.Required = true;
        var data = CommonOptions.OptionalPath("--data", "Directory with the Fashion-MNIST IDX files. Default: $CONVNET_DATA, /usr/share/datasets/fashion-mnist, then the built-in sample.", "-d");
        var sample = new Option<bool>("--sample") { Description = "Evaluate on the sample built into convnet." };
        var device = TrainCommand.DeviceOption();
        var limit = CommonOptions.OptionalInt("--limit", "Use only the first N test images.", 1);
        var command = new Command("evaluate", "Evaluate a checkpoint on the Fashion-MNIST test set.") { checkpoint, data, sample, device, limit };
        command.SetAction((parse, ct) => Task.FromResult(Run(app.Console, parse.GetValue(checkpoint)!, parse.GetValue(data), parse.GetValue(sample),
            TrainCommand.ParseDevice(parse.GetValue(device)!), parse.GetValue(limit), ct)));
        return command;
    }

    /// <summary>Evaluates; Ctrl-C (<paramref name="ct"/>) stops it before or after the test pass with exit code 130, printing no result.</summary>
    private static int Run(CliConsole console, string checkpoint, string? dataDirectory, bool useSample, DeviceRequest deviceRequest, int? limit,
        CancellationToken ct)
    {
        string path = Path.GetFullPath(checkpoint);
        if (!File.Exists(path)) throw CliException.CheckpointError($"the checkpoint does not exist: {path}");
        LoadedData data = DataSource.Load(dataDirectory, useSample, limit, console);
        OpenedDevice device = DeviceSelector.Open(deviceRequest, tf32: false);
        using IBackend backend = device.Backend;
        using TrainingSession session = TrainingSession.Resume(path, backend, expectedModel: null, forTraining: false);
        session.CheckCompatible(data.Test);
        console.Note("Checkpoint:", $"{path}: {session.ModelName}, {session.ParameterCount:N0} parameters, after {session.Position.CompletedEpochs} epoch(s)");
        console.Note("Data:", $"{data.Description}; {data.Test.Count:N0} test images");
        console.Note("Device:", $"{backend.Name} ({device.Reason})");

        ct.ThrowIfCancellationRequested();
        TestResult result = session.Evaluate(data.Test);
        ct.ThrowIfCancellationRequested();
        IReadOnlyList<string> names = data.Test.ClassNames;
        int n = names.Count;
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]confusion matrix[/] (rows: true class, columns: predicted)").AddColumn("true \\ predicted");
        for (int j = 0; j < n; j++) table.AddColumn(new TableColumn(Markup.Escape(Short(names[j]))).RightAligned());
        table.AddColumn(new TableColumn("recall").RightAligned());
        for (int i = 0; i < n; i++)
        {
            long row = 0;
            for (int j = 0; j < n; j++) row += result.Confusion[i, j];
            var cells = new List<string> { Markup.Escape(names[i]) };
            for (int j = 0; j < n; j++)
            {
                string count = result.Confusion[i, j].ToString(CultureInfo.InvariantCulture);
                cells.Add(i == j ? $"[bold]{count}[/]" : count);
            }
            cells.Add(row == 0 ? "-" : ((double)result.Confusion[i, i] / row * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%");
            table.AddRow(cells.ToArray());
        }
        console.Render(table);
        console.Line(FormattableString.Invariant($"test accuracy {result.Accuracy * 100:0.00}%  test loss {result.Loss:0.0000}  ({data.Test.Count:N0} images)"));
        return ExitCodes.Success;
    }

    private static string Short(string name) => name.Length <= 8 ? name : name[..7] + ".";
}

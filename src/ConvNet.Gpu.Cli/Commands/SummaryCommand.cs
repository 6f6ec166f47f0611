using System.CommandLine;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;

namespace ConvNet.Gpu.Cli.Commands;

/// <summary><c>convnet summary --model M</c>: each layer's output shape and parameter count, and the totals, for 1x28x28 inputs.</summary>
internal static class SummaryCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliApp app)
    {
        var model = CommonOptions.Choice("--model", "The network to describe.", ModelNames.LeNet5, "model", ModelNames.All, "-m");
        var command = new Command("summary", "Print a model's layers, output shapes and parameter counts (for 1x28x28 Fashion-MNIST inputs).") { model };
        command.SetAction(parse =>
        {
            app.Console.Line(TrainingSession.SummaryOf(parse.GetValue(model)!));
            return ExitCodes.Success;
        });
        return command;
    }
}

using System.CommandLine;
using System.CommandLine.Help;
using ConvNet.Gpu.Cli.Commands;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;

namespace ConvNet.Gpu.Cli;

/// <summary>
/// One invocation of the tool: builds the command tree, parses, runs the chosen command and turns every failure into
/// one line on stderr plus a documented exit code (<see cref="ExitCodes"/>). With --verbose the stack trace follows.
/// </summary>
internal sealed class CliApp
{
    private readonly TextWriter _out;
    private readonly TextWriter _err;

    /// <summary>Creates the app over its output writers; <paramref name="isTerminal"/> enables live progress bars and colors.</summary>
    public CliApp(TextWriter output, TextWriter error, bool isTerminal)
    {
        _out = output;
        _err = error;
        Console = new CliConsole(output, error, isTerminal);
    }

    /// <summary>Where commands write (plain or live).</summary>
    public CliConsole Console { get; }

    /// <summary>Parses <paramref name="args"/>, runs the command and returns its exit code.</summary>
    public async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        bool verbose = args.Contains("--verbose") || args.Contains("-v");
        try
        {
            RootCommand root = BuildRoot();
            ParseResult parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                foreach (string message in parsed.Errors.Select(e => e.Message).Distinct())
                    _err.WriteLine($"error: {message}");
                string commandPath = parsed.CommandResult.Command is RootCommand ? "convnet" : $"convnet {parsed.CommandResult.Command.Name}";
                _err.WriteLine($"Run '{commandPath} --help' for the options.");
                return ExitCodes.Usage;
            }
            var invocation = new InvocationConfiguration
            {
                Output = _out,
                Error = _err,
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null, // Program.Main owns Ctrl-C: training must checkpoint, not die.
            };
            return await parsed.InvokeAsync(invocation, cancellationToken);
        }
        catch (Exception ex)
        {
            (int code, string message) = ErrorClassifier.Classify(ex);
            _err.WriteLine($"error: {message}");
            if (verbose) _err.WriteLine(ex.ToString());
            else if (code == ExitCodes.InternalError) _err.WriteLine("Rerun with --verbose for the stack trace.");
            return code;
        }
    }

    private RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "convnet: train, evaluate and inspect convolutional networks with ConvNet.Gpu, on CUDA GPUs or the SIMD CPU backend.\n"
            + ExitCodes.Table);
        root.Options.Add(CommonOptions.Verbose());
        root.Subcommands.Add(TrainCommand.Create(this));
        root.Subcommands.Add(EvaluateCommand.Create(this));
        root.Subcommands.Add(SummaryCommand.Create(this));
        root.Subcommands.Add(ExportCommand.Create(this));
        root.Subcommands.Add(InfoCommand.Create(this));
        root.Subcommands.Add(BenchCommand.Create(this));
        root.SetAction(parse =>
        {
            // `convnet` alone prints the help (exit 0), like `convnet --help`.
            new HelpAction().Invoke(parse);
            return ExitCodes.Success;
        });
        return root;
    }
}

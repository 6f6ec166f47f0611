using Spectre.Console;

namespace ConvNet.Gpu.Cli.Infrastructure;

/// <summary>
/// The tool's view of its output: plain text writers for lines and a Spectre.Console renderer for tables and, on a
/// terminal, live progress bars. When the output is not a terminal (CI, pipes, tests) nothing is animated and no
/// ANSI escapes are written.
/// </summary>
internal sealed class CliConsole
{
    /// <summary>Wraps the writers; <paramref name="isTerminal"/> enables colors and live rendering.</summary>
    public CliConsole(TextWriter output, TextWriter error, bool isTerminal)
    {
        Out = output;
        Error = error;
        IsTerminal = isTerminal;
        Ansi = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = isTerminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = isTerminal ? InteractionSupport.Yes : InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        if (!isTerminal) Ansi.Profile.Width = 132; // pipes have no width; keep tables on one line each
    }

    /// <summary>Standard output.</summary>
    public TextWriter Out { get; }

    /// <summary>Standard error: error messages only.</summary>
    public TextWriter Error { get; }

    /// <summary>Whether live progress bars and colors are used.</summary>
    public bool IsTerminal { get; }

    /// <summary>The Spectre renderer over <see cref="Out"/>.</summary>
    public IAnsiConsole Ansi { get; }

    /// <summary>Writes one plain line to stdout (through Spectre on a terminal so it interleaves with live bars).</summary>
    public void Line(string text = "")
    {
        if (IsTerminal) Ansi.WriteLine(text);
        else Out.WriteLine(text);
    }

    /// <summary>Writes a highlighted note (e.g. which dataset or device is used) to stdout.</summary>
    public void Note(string label, string text)
    {
        if (IsTerminal) Ansi.MarkupLine($"[bold deepskyblue1]{Markup.Escape(label)}[/] {Markup.Escape(text)}");
        else Out.WriteLine($"{label} {text}");
    }

    /// <summary>Writes a warning to stdout, where it stays in the run's log next to what it concerns.</summary>
    public void Warn(string text)
    {
        if (IsTerminal) Ansi.MarkupLine($"[yellow]warning:[/] {Markup.Escape(text)}");
        else Out.WriteLine($"warning: {text}");
    }

    /// <summary>Renders a Spectre table (or any renderable) to stdout.</summary>
    public void Render(Spectre.Console.Rendering.IRenderable renderable) => Ansi.Write(renderable);
}

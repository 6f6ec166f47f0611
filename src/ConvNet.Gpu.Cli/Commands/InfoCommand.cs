using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cpu;
using ConvNet.Gpu.Cli.Diagnostics;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using Spectre.Console;

namespace ConvNet.Gpu.Cli.Commands;

/// <summary>
/// <c>convnet info</c>: the CPU (cores, SIMD extensions) and the CUDA devices (name, memory, compute capability,
/// driver and cuBLAS versions, the native libraries loaded), or exactly why CUDA is unavailable.
/// </summary>
internal static class InfoCommand
{
    /// <summary>Builds the command.</summary>
    public static Command Create(CliApp app)
    {
        var command = new Command("info", "Show the CPU's features and the CUDA devices (or why CUDA is unavailable).");
        command.SetAction(_ => Run(app.Console));
        return command;
    }

    private static int Run(CliConsole console)
    {
        var cpu = new Table().Border(TableBorder.Rounded).Title("[bold]CPU[/]").AddColumn("property").AddColumn("value");
        cpu.AddRow("processor", Markup.Escape(CpuInfo.ModelName()));
        cpu.AddRow("logical cores", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture));
        cpu.AddRow("architecture", RuntimeInformation.ProcessArchitecture.ToString());
        var sets = CpuInfo.InstructionSets();
        cpu.AddRow("SIMD extensions", Markup.Escape(string.Join(", ", sets.Where(s => s.Supported).Select(s => s.Name)) is { Length: > 0 } yes ? yes : "none"));
        if (sets.Any(s => !s.Supported))
            cpu.AddRow("not available", Markup.Escape(string.Join(", ", sets.Where(s => !s.Supported).Select(s => s.Name))));
        cpu.AddRow("CPU backend kernels", Markup.Escape(CpuBackend.SimdDescription));
        cpu.AddRow("vectors", Markup.Escape(CpuInfo.VectorWidths()));
        cpu.AddRow("memory available", $"{CpuInfo.AvailableMemoryBytes() / (1024.0 * 1024 * 1024):0.0} GiB");
        cpu.AddRow(".NET", Markup.Escape($"{RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}"));
        console.Render(cpu);

        CudaProbe probe = DeviceSelector.Probe();
        if (probe.Devices.Count > 0)
        {
            var gpus = new Table().Border(TableBorder.Rounded).Title("[bold]CUDA devices[/]")
                .AddColumn("#").AddColumn("name").AddColumn(new TableColumn("memory").RightAligned()).AddColumn("compute capability").AddColumn(new TableColumn("SMs").RightAligned());
            foreach (CudaDeviceSummary d in probe.Devices)
                gpus.AddRow(d.Index.ToString(CultureInfo.InvariantCulture), Markup.Escape(d.Name),
                    $"{d.TotalMemoryBytes / (1024.0 * 1024 * 1024):0.0} GiB", d.ComputeCapability, d.Multiprocessors.ToString(CultureInfo.InvariantCulture));
            console.Render(gpus);
        }
        console.Line(probe.Available ? "CUDA: available" : $"CUDA: unavailable: {probe.Reason}");
        console.Line($"  driver (CUDA API version): {probe.DriverVersion}, cuBLAS: {probe.CublasVersion}");
        if (probe.CublasSelection.Length > 0) console.Line($"  cuBLAS choice: {probe.CublasSelection}");
        foreach (string library in probe.Libraries) console.Line($"  loaded: {library}");
        console.Line(probe.EmulatorAvailable
            ? "Emulated CUDA device: available (--device cuda-emulated)"
            : $"Emulated CUDA device: unavailable: {probe.EmulatorReason}");
        return ExitCodes.Success;
    }
}

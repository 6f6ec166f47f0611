using System.Text.Json;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>Device selection through the CLI: the emulated CUDA device trains, and info/bench report what they find.</summary>
public sealed class CliDeviceTests
{
    [Fact]
    public async Task Training_on_the_emulated_cuda_device_records_it_and_loads_on_the_cpu()
    {
        CudaProbe probe = DeviceSelector.Probe();
        Assert.SkipUnless(probe.EmulatorAvailable, $"the emulated CUDA device is unavailable: {probe.EmulatorReason}");
        string output = CliHarness.TempDirectory("emulated");

        CliResult r = await CliHarness.RunAsync("train", "--sample", "--limit", "100", "--epochs", "1", "--batch-size", "50",
            "--device", "cuda-emulated", "--out", output);

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        Assert.Contains("Device: CUDA (emulated) (requested with --device cuda-emulated", r.Out);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        Assert.Equal("CUDA (emulated)", doc.RootElement.GetProperty("device").GetString());

        // Checkpoints are device independent: evaluate the CUDA-trained weights on the CPU.
        CliResult eval = await CliHarness.RunAsync("evaluate", "--checkpoint", Path.Combine(output, "final.ckpt"), "--sample", "--limit", "100", "--device", "cpu");
        Assert.True(eval.ExitCode == ExitCodes.Success, eval.ToString());
    }

    [Fact]
    public async Task Info_reports_the_cpu_and_either_devices_or_the_reason()
    {
        CliResult r = await CliHarness.RunAsync("info");

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        Assert.Contains($"│ logical cores       │ {Environment.ProcessorCount}", r.Out);
        Assert.Contains(System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" : "SIMD extensions", r.Out);
        CudaProbe probe = DeviceSelector.Probe();
        if (probe.Available) Assert.Contains(probe.Devices[0].Name, r.Out);
        else Assert.Contains($"CUDA: unavailable: {probe.Reason}", r.Out);
    }

    [Fact]
    public async Task Bench_algorithms_times_every_conv_algorithm_on_the_emulated_device_and_shows_the_choice()
    {
        CudaProbe probe = DeviceSelector.Probe();
        Assert.SkipUnless(probe.EmulatorAvailable, $"the emulated CUDA device is unavailable: {probe.EmulatorReason}");
        CliResult r = await CliHarness.RunAsync("bench", "--gpu", "cuda-emulated", "--algorithms", "--tf32");

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        string[] rows = r.Out.Split('\n').Where(l => l.StartsWith("│ Forward", StringComparison.Ordinal) || l.StartsWith("│ Backward", StringComparison.Ordinal)).ToArray();
        Assert.Equal(12, rows.Length); // 4 shapes x 3 passes
        // Columns: pass, shape, Im2ColGemm, ImplicitGemmFp32, ImplicitGemmTf32, Depthwise, PointwiseGemm, chosen.
        foreach (string row in rows)
        {
            string[] cells = row.Split('│', StringSplitOptions.TrimEntries)[1..^1];
            Assert.True(double.Parse(cells[2], System.Globalization.CultureInfo.InvariantCulture) > 0, row); // im2col runs everything
            string expected = cells[1].StartsWith("depthwise", StringComparison.Ordinal) ? "Depthwise"
                : cells[1].StartsWith("pointwise", StringComparison.Ordinal) ? "PointwiseGemm" : "ImplicitGemmTf32";
            Assert.Equal(expected, cells[7]);
            Assert.Equal(expected == "Depthwise", cells[5] != "-");     // Depthwise runs only the depthwise shape
            Assert.Equal(expected == "PointwiseGemm", cells[6] != "-"); // PointwiseGemm only the 1x1
        }
        Assert.Contains("why: fixed cost order (emulated device)", r.Out);
        Assert.Contains("TF32 on.", r.Out);
    }

    [Fact]
    public async Task Bench_algorithms_without_a_cuda_device_is_a_usage_error()
    {
        CliResult r = await CliHarness.RunAsync("bench", "--gpu", "none", "--algorithms");
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("--gpu must be cuda, cuda:N or cuda-emulated", r.Err);
    }

    [Fact]
    public async Task Auto_says_which_device_it_chose_and_why()
    {
        CliResult r = await CliHarness.RunAsync("train", "--sample", "--limit", "50", "--epochs", "1", "--batch-size", "50",
            "--out", CliHarness.TempDirectory("auto"));

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        CudaProbe probe = DeviceSelector.Probe();
        Assert.Contains(probe.Available ? "Device: CUDA: " : $"Device: CPU (--device auto: CUDA unavailable: {probe.Reason}; using CPU)", r.Out);
    }
}

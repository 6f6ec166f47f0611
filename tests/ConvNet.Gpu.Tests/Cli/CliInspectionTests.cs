using System.Globalization;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Cli.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>`convnet summary` and `convnet bench`: what they print.</summary>
public sealed class CliInspectionTests
{
    [Theory]
    // Counted by hand (weights + biases):
    // modern LeNet-5: 156 + 2,416 + 48,120 + 10,164 + 850;
    // classic LeNet-5: C1 156, S2 12, C3 1,516 (connection table), S4 32, C5 48,120, F6 10,164, output 850.
    [InlineData("lenet5", (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10))]
    [InlineData("lenet5-classic", 156 + 12 + 1516 + 32 + 48120 + 10164 + 850)]
    public async Task Summary_prints_the_layers_and_the_parameter_total(string model, int total)
    {
        CliResult r = await CliHarness.RunAsync("summary", "--model", model);

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        Assert.Contains($"Total params: {total.ToString("N0", CultureInfo.InvariantCulture)}", r.Out);
        Assert.Contains("Conv2D", r.Out);
        Assert.Contains("Dense", r.Out);
    }

    [Fact]
    public async Task Bench_times_every_op_on_the_cpu()
    {
        CliResult r = await CliHarness.RunAsync("bench", "--gpu", "none", "--seconds", "0.01");

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        string[] rows = r.Out.Split('\n').Where(l => Regex.IsMatch(l, "^│ (SGEMM|conv )")).ToArray();
        Assert.Equal(8, rows.Length); // 2 SGEMM + 2 shapes x 3 convolution directions
        foreach (string row in rows)
        {
            string[] cells = row.Split('│', StringSplitOptions.TrimEntries);
            double ms = double.Parse(cells[3], CultureInfo.InvariantCulture), gflops = double.Parse(cells[4], CultureInfo.InvariantCulture);
            Assert.True(ms > 0 && gflops > 0, row);
            Assert.EndsWith("%", cells[5]); // % of the measured peak
        }
        Assert.Contains("measured FP32 FMA peak", r.Out);
    }
}

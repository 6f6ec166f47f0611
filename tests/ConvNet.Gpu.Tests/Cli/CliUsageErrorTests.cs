using Xunit;
using ConvNet.Gpu.Cli.Infrastructure;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>Bad command lines: one clear line on stderr, exit code 2, nothing trained, no stack trace.</summary>
public sealed class CliUsageErrorTests
{
    [Theory]
    [InlineData(new[] { "train", "--epochs", "0" }, "--epochs must be at least 1, got 0")]
    [InlineData(new[] { "train", "--epochs", "-3" }, "--epochs must be at least 1, got -3")]
    [InlineData(new[] { "train", "--batch-size", "abc" }, "--batch-size must be a whole number ≥ 1, got 'abc'")]
    [InlineData(new[] { "train", "--batch-size", "0" }, "--batch-size must be at least 1, got 0")]
    [InlineData(new[] { "train", "--lr", "-1" }, "--lr must be greater than 0, got '-1'")]
    [InlineData(new[] { "train", "--lr", "0" }, "--lr must be greater than 0, got '0'")]
    [InlineData(new[] { "train", "--lr", "fast" }, "--lr must be a number, got 'fast'")]
    [InlineData(new[] { "train", "--lr", "NaN" }, "--lr must be a number, got 'NaN'")]
    [InlineData(new[] { "train", "--limit", "0" }, "--limit must be at least 1, got 0")]
    [InlineData(new[] { "train", "--optimizer", "rmsprop" }, "unknown optimizer 'rmsprop'. Valid optimizers: adam, sgd, adamw.")]
    [InlineData(new[] { "train", "--device", "tpu" }, "unknown device 'tpu'. Valid devices: auto, cpu, cuda, cuda:N")]
    [InlineData(new[] { "train", "--device", "cuda:x" }, "unknown device 'cuda:x'")]
    [InlineData(new[] { "evaluate" }, "--checkpoint")]
    [InlineData(new[] { "train", "--no-such-option" }, "--no-such-option")]
    [InlineData(new[] { "fly" }, "fly")]
    public async Task Invalid_arguments_exit_with_code_2_and_one_clear_message(string[] args, string expected)
    {
        CliResult r = await CliHarness.RunAsync(args);

        Assert.True(r.ExitCode == ExitCodes.Usage, r.ToString());
        Assert.Contains(expected, r.Err);
        Assert.StartsWith("error: ", r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
        Assert.Equal("", r.Out);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("summary")]
    public async Task Unknown_model_lists_the_valid_ones(string command)
    {
        CliResult r = await CliHarness.RunAsync(command, "--model", "alexnet");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("unknown model 'alexnet'. Valid models: lenet5, lenet5-classic, vgg-small, resnet-small.", r.Err);
    }

    [Fact]
    public async Task Help_lists_the_train_options_and_exit_codes()
    {
        CliResult r = await CliHarness.RunAsync("train", "--help");

        Assert.Equal(ExitCodes.Success, r.ExitCode);
        foreach (string option in new[] { "--model", "--data", "--epochs", "--batch-size", "--lr", "--optimizer", "--device", "--seed", "--out", "--resume", "--tf32", "--limit", "--verbose" })
            Assert.Contains(option, r.Out);

        CliResult root = await CliHarness.RunAsync("--help");
        Assert.Contains("2 usage, 3 dataset, 4 checkpoint (or --onnx model), 5 device, 6 output directory, 7 training diverged", root.Out);
    }
}

using Xunit;
using ConvNet.Gpu.Cli.Engine;
using ConvNet.Gpu.Cli.Infrastructure;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>Missing or corrupt data, unwritable output, missing devices and bad checkpoints: their exit codes and messages.</summary>
public sealed class CliEnvironmentErrorTests
{
    [Fact]
    public async Task A_missing_data_directory_is_a_data_error()
    {
        string missing = Path.Combine(CliHarness.TempDirectory("nodata"), "does-not-exist");
        string output = CliHarness.TempDirectory("out");

        CliResult r = await CliHarness.RunAsync("train", "--data", missing, "--out", output, "--device", "cpu");

        Assert.True(r.ExitCode == ExitCodes.Data, r.ToString());
        Assert.Contains(missing, r.Err);
        Assert.Contains("does not exist", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public async Task A_directory_without_the_idx_files_names_what_is_missing()
    {
        string empty = CliHarness.TempDirectory("emptydata");

        CliResult r = await CliHarness.RunAsync("train", "--data", empty, "--out", CliHarness.TempDirectory("out"));

        Assert.Equal(ExitCodes.Data, r.ExitCode);
        Assert.Contains("train-images-idx3-ubyte", r.Err);
    }

    [Fact]
    public async Task A_truncated_image_file_is_a_data_error_naming_the_file()
    {
        string dir = CliHarness.TempDirectory("corrupt");
        // Valid headers claiming 100 images of 28x28 / 100 labels, but the image payload stops after 10 bytes.
        WriteIdx(Path.Combine(dir, "train-images-idx3-ubyte"), 0x803, [100, 28, 28], new byte[10]);
        WriteIdx(Path.Combine(dir, "train-labels-idx1-ubyte"), 0x801, [100], new byte[100]);
        WriteIdx(Path.Combine(dir, "t10k-images-idx3-ubyte"), 0x803, [2, 28, 28], new byte[2 * 784]);
        WriteIdx(Path.Combine(dir, "t10k-labels-idx1-ubyte"), 0x801, [2], new byte[2]);

        CliResult r = await CliHarness.RunAsync("train", "--data", dir, "--out", CliHarness.TempDirectory("out"), "--device", "cpu");

        Assert.True(r.ExitCode == ExitCodes.Data, r.ToString());
        Assert.Contains("train-images-idx3-ubyte", r.Err);
        Assert.Contains("cannot load Fashion-MNIST", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public async Task Verbose_adds_the_stack_trace()
    {
        string empty = CliHarness.TempDirectory("emptydata");
        string dir = CliHarness.TempDirectory("corrupt");
        WriteIdx(Path.Combine(dir, "train-images-idx3-ubyte"), 0x999, [1, 28, 28], new byte[784]); // bad magic
        WriteIdx(Path.Combine(dir, "train-labels-idx1-ubyte"), 0x801, [1], new byte[1]);
        WriteIdx(Path.Combine(dir, "t10k-images-idx3-ubyte"), 0x803, [1, 28, 28], new byte[784]);
        WriteIdx(Path.Combine(dir, "t10k-labels-idx1-ubyte"), 0x801, [1], new byte[1]);

        CliResult r = await CliHarness.RunAsync("train", "--data", dir, "--out", empty, "--verbose");

        Assert.Equal(ExitCodes.Data, r.ExitCode);
        Assert.Contains("   at ", r.Err);
    }

    [Fact]
    public async Task An_output_directory_that_cannot_be_created_is_an_output_error()
    {
        // A path below a regular file can never be a directory (this holds even for root, unlike permissions).
        string file = Path.Combine(CliHarness.TempDirectory("blocked"), "a-file");
        File.WriteAllText(file, "not a directory");
        string output = Path.Combine(file, "run");

        CliResult r = await CliHarness.RunAsync("train", "--out", output, "--sample", "--device", "cpu");

        Assert.True(r.ExitCode == ExitCodes.Output, r.ToString());
        Assert.Contains($"cannot write to the output directory {output}", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    [Fact]
    public async Task A_missing_checkpoint_is_a_checkpoint_error()
    {
        string missing = Path.Combine(CliHarness.TempDirectory("ckpt"), "nothing.ckpt");

        CliResult resume = await CliHarness.RunAsync("train", "--resume", missing, "--sample");
        CliResult evaluate = await CliHarness.RunAsync("evaluate", "--checkpoint", missing, "--sample");

        Assert.Equal(ExitCodes.Checkpoint, resume.ExitCode);
        Assert.Contains(missing, resume.Err);
        Assert.Equal(ExitCodes.Checkpoint, evaluate.ExitCode);
        Assert.Contains(missing, evaluate.Err);
    }

    [Fact]
    public async Task Requesting_cuda_without_a_usable_gpu_is_a_device_error_with_the_reason()
    {
        CudaProbe probe = DeviceSelector.Probe();
        Assert.SkipWhen(probe.Available, "a CUDA GPU is available here, so --device cuda succeeds");

        CliResult r = await CliHarness.RunAsync("train", "--device", "cuda", "--sample", "--out", CliHarness.TempDirectory("out"));

        Assert.True(r.ExitCode == ExitCodes.Device, r.ToString());
        Assert.Contains(probe.Reason, r.Err);
    }

    [Fact]
    public async Task A_diverging_run_stops_with_exit_code_7_and_says_where()
    {
        // SGD with a learning rate of a million overflows the weights within a few steps.
        CliResult r = await CliHarness.RunAsync("train", "--sample", "--limit", "200", "--batch-size", "50", "--optimizer", "sgd", "--lr", "1e6",
            "--device", "cpu", "--out", CliHarness.TempDirectory("diverge"));

        Assert.True(r.ExitCode == ExitCodes.Diverged, r.ToString());
        Assert.Matches(@"^error: training diverged: the loss became (NaN|∞|-∞|Infinity) at epoch 1, batch \d+ \(step \d+\)", r.Err);
        Assert.Contains("Try a smaller --lr.", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }

    internal static void WriteIdx(string path, int magic, int[] dims, byte[] payload)
    {
        using var f = File.Create(path);
        void Int(int v) { f.WriteByte((byte)(v >> 24)); f.WriteByte((byte)(v >> 16)); f.WriteByte((byte)(v >> 8)); f.WriteByte((byte)v); }
        Int(magic);
        foreach (int d in dims) Int(d);
        f.Write(payload);
    }
}

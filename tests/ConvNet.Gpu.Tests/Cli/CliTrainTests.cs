using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Cli.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>
/// `convnet train` end to end, in-process on the embedded Fashion-MNIST sample (cut with --limit so a run takes seconds):
/// the files it writes, what they contain, and that they load again.
/// </summary>
public sealed class CliTrainTests(OneEpochRun run) : IClassFixture<OneEpochRun>
{
    /// <summary>Modern LeNet-5's parameters counted by hand: conv 1->6 5x5, conv 6->16 5x5, dense 400->120->84->10 (weights + biases).</summary>
    private const long LeNet5Parameters = (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10);


    [Fact]
    public void One_epoch_writes_checkpoints_metrics_and_report()
    {
        string output = run.Output;
        CliResult r = run.Result;

        Assert.True(r.ExitCode == ExitCodes.Success, r.ToString());
        Assert.Equal("", r.Err);
        Assert.Contains("Device: CPU (requested with --device cpu)", r.Out);
        Assert.Contains("sample embedded in convnet", r.Out);
        Assert.Matches(new Regex(@"epoch 1/1  train loss \d+\.\d{4} acc \d+\.\d\d%  \|  test loss \d+\.\d{4} acc \d+\.\d\d%"), r.Out);
        foreach (string file in new[] { "final.ckpt", "best.ckpt", "last.ckpt", "metrics.json", "report.html" })
            Assert.True(File.Exists(Path.Combine(output, file)), $"{file} is missing\n{r}");
        Assert.Empty(Directory.GetFiles(output, "*.tmp*")); // atomic writes leave no temporaries
    }

    [Fact]
    public void Metrics_json_has_the_documented_fields_with_plausible_values()
    {
        string output = run.Output;
        CliResult r = run.Result;
        Assert.True(r.ExitCode == 0, r.ToString());

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        JsonElement root = doc.RootElement;
        Assert.Equal("lenet5", root.GetProperty("model").GetString());
        Assert.Equal("CPU", root.GetProperty("device").GetString());
        Assert.Equal(LeNet5Parameters, root.GetProperty("parameter_count").GetInt64());
        Assert.Equal(3UL, root.GetProperty("seed").GetUInt64());
        Assert.Equal(600, root.GetProperty("train_images").GetInt32());

        JsonElement[] epochs = root.GetProperty("epochs").EnumerateArray().ToArray();
        JsonElement e = Assert.Single(epochs);
        Assert.Equal(1, e.GetProperty("epoch").GetInt32());
        double trainLoss = e.GetProperty("train_loss").GetDouble(), testLoss = e.GetProperty("test_loss").GetDouble();
        double trainAcc = e.GetProperty("train_accuracy").GetDouble(), testAcc = e.GetProperty("test_accuracy").GetDouble();
        double seconds = e.GetProperty("seconds").GetDouble(), rate = e.GetProperty("images_per_second").GetDouble();
        // Cross-entropy of 10 classes starts near ln 10 = 2.30; one epoch on 600 images must be finite and below ~4.
        Assert.InRange(trainLoss, 0.05, 4.0);
        Assert.InRange(testLoss, 0.05, 4.0);
        Assert.InRange(trainAcc, 0.0, 1.0);
        // Better than chance (10%) after one epoch, and an accuracy is a fraction, not a percentage.
        Assert.InRange(testAcc, 0.2, 1.0);
        Assert.True(seconds > 0, $"seconds = {seconds}");
        // Throughput is images over time: 600 images in `seconds`.
        Assert.Equal(600 / seconds, rate, 600 / seconds * 0.02);
    }

    [Fact]
    public async Task The_checkpoint_loads_and_evaluates_to_the_recorded_accuracy()
    {
        string output = run.Output;
        CliResult r = run.Result;
        Assert.True(r.ExitCode == 0, r.ToString());
        string final = Path.Combine(output, "final.ckpt");

        // The library rebuilds the model from the file alone.
        using (IBackend cpu = Backend.Cpu(1))
        using (var model = ModelCheckpoint.LoadModel(final, cpu))
            Assert.Equal(LeNet5Parameters, model.TrainableParameterCount);

        // `convnet evaluate` on the same test images reproduces the accuracy that metrics.json recorded after epoch 1.
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "metrics.json")));
        double recorded = doc.RootElement.GetProperty("epochs")[0].GetProperty("test_accuracy").GetDouble();
        CliResult eval = await CliHarness.RunAsync("evaluate", "--checkpoint", final, "--sample", "--limit", "600", "--device", "cpu");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"test accuracy {recorded * 100:0.00}%"), eval.Out);
        Assert.Contains("Ankle boot", eval.Out); // the confusion matrix is labelled with class names
    }

    [Fact]
    public void The_report_contains_the_curves_the_confusion_matrix_and_the_filters()
    {
        string output = run.Output;
        CliResult r = run.Result;
        Assert.True(r.ExitCode == 0, r.ToString());

        string html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Equal(2, Regex.Matches(html, "<svg ").Count);                   // loss and accuracy curves
        Assert.Equal(4, Regex.Matches(html, "<circle ").Count);                // train + test point in each (one epoch)
        Assert.Contains("Confusion matrix", html);
        foreach (string name in ConvNet.Gpu.Data.FashionMnist.ClassNames)
            Assert.Contains(System.Net.WebUtility.HtmlEncode(name), html);
        Assert.Equal(6, Regex.Matches(html, "alt=\"filter \\d channel 0\" ").Count + Regex.Matches(html, "alt=\"filter \\d channel 0\">").Count);
        Assert.Contains("What the first convolution layer learned", html);
        Assert.Equal(6, Regex.Matches(html, "alt=\"response of filter \\d\"").Count); // each filter's output on a test image
        Assert.Contains("alt=\"test image", html);                             // misclassified examples
        Assert.DoesNotContain("<script", html);
    }
}

/// <summary>One `convnet train` run shared by the tests of <see cref="CliTrainTests"/> (one epoch, 600 sample images).</summary>
public sealed class OneEpochRun : IAsyncLifetime
{
    public string Output { get; } = CliHarness.TempDirectory("one-epoch");

    public CliResult Result { get; private set; } = new(-1, "", "");

    public async ValueTask InitializeAsync() =>
        Result = await CliHarness.RunAsync(
            ["train", "--sample", "--limit", "600", "--epochs", "1", "--batch-size", "50", "--device", "cpu", "--seed", "3", "--out", Output],
            CancellationToken.None);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Checkpoints;

/// <summary>The run settings a checkpoint carries: round trip, absent entries, and the keys older CLI versions wrote.</summary>
public sealed class RunMetadataTests
{
    [Fact]
    public void SettingsRoundTripExactly()
    {
        var run = new RunMetadata("vgg-small", new Normalization(0.2860402f, 0.35302424f), 128, 18446744073709551615UL);
        var back = RunMetadata.Read(run.ToMetadata());
        Assert.Equal("vgg-small", back.ModelName);
        Assert.Equal(run.Normalization!.Mean, back.Normalization!.Mean);
        Assert.Equal(run.Normalization.Std, back.Normalization.Std);
        Assert.Equal(128, back.BatchSize);
        Assert.Equal(ulong.MaxValue, back.Seed);
    }

    [Fact]
    public void AbsentSettingsAreNullAndLegacyKeysAreRead()
    {
        var none = RunMetadata.Read(new Dictionary<string, string>());
        Assert.Equal(new RunMetadata(null, null, null, null), none);
        Assert.Empty(none.ToMetadata());
        var legacy = RunMetadata.Read(new Dictionary<string, string>
        {
            ["cli.model"] = "lenet5", ["cli.batch_size"] = "64", ["cli.seed"] = "42",
            ["cli.normalization_mean"] = "0.5", ["cli.normalization_std"] = "0.25",
        });
        Assert.Equal(("lenet5", 64, 42UL, 0.5f, 0.25f), (legacy.ModelName, legacy.BatchSize, legacy.Seed, legacy.Normalization!.Mean, legacy.Normalization.Std));
        Assert.Throws<FormatException>(() => RunMetadata.Read(new Dictionary<string, string> { ["run.batch_size"] = "many" }));
    }
}

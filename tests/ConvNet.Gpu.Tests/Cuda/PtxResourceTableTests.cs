using System.Security.Cryptography;
using System.Text;
using ConvNet.Gpu.Tests.Cuda.Device;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda;

/// <summary>
/// The committed ptxas resource table (kernels/ptx-resources.md, made by build/ptx-resources.sh with Debian's ptxas 11.8,
/// which CI does not install): it was made from the current sources of the hot kernels (their hash), lists every hot
/// kernel for the architectures it exists on, and none of them spills or fits fewer than two 256-thread blocks per SM.
/// </summary>
public sealed class PtxResourceTableTests
{
    private static readonly string[] HotSources =
        ["kernels/conv_igemm.cu", "kernels/conv_depthwise.cu", "kernels/cn_igemm.cuh", "kernels/cn_igemm_ops.cuh", "kernels/cn_sm80.cuh"];

    private static (string Root, string[] Lines) Table()
    {
        string? kernels = KernelSources.Directory();
        if (kernels is null) Assert.Skip("kernels/ not found above the test binary (published test run)");
        return (Path.GetDirectoryName(kernels)!, File.ReadAllLines(Path.Combine(kernels, "ptx-resources.md")));
    }

    [Fact]
    public void The_table_was_made_from_the_current_hot_kernel_sources()
    {
        var (root, lines) = Table();
        // The script's hash: for each file, its repository path and a newline, then its text without carriage returns.
        var bytes = new List<byte>();
        foreach (string file in HotSources)
        {
            bytes.AddRange(Encoding.UTF8.GetBytes(file + "\n"));
            bytes.AddRange(File.ReadAllBytes(Path.Combine(root, file)).Where(b => b != (byte)'\r'));
        }
        string hash = Convert.ToHexStringLower(SHA256.HashData(bytes.ToArray()))[..16];
        Assert.True(lines.Any(l => l.Contains($"`{hash}`", StringComparison.Ordinal)),
            $"kernels/ptx-resources.md is stale: the hot kernels' sources hash to {hash}; run `bash build/ptx-resources.sh` and commit the table");
    }

    [Fact]
    public void Hot_kernels_do_not_spill_and_fit_two_blocks_per_SM()
    {
        var (_, lines) = Table();
        var declared = KernelSources.KernelsByFile();
        var hot = declared["conv_igemm"].Concat(declared["conv_depthwise"]).ToList();
        var sm80Only = KernelSources.Sm80OnlyKernelNames();
        foreach (string kernel in hot)
        {
            string row = lines.SingleOrDefault(l => l.StartsWith($"| {kernel} |", StringComparison.Ordinal))
                         ?? throw new Xunit.Sdk.XunitException($"{kernel} is missing from kernels/ptx-resources.md");
            string[] cells = row.Split('|', StringSplitOptions.TrimEntries)[2..^1];
            Assert.Equal(12, cells.Length);
            for (int arch = 0; arch < 3; arch++)
            {
                string name = new[] { "sm_70", "sm_80", "sm_90" }[arch];
                string spill = cells[arch * 4 + 1], blocks = cells[arch * 4 + 3];
                if (arch == 0 && sm80Only.Contains(kernel))
                {
                    Assert.Equal("-", spill);
                    continue;
                }
                Assert.True(spill == "0/0", $"{kernel} spills on {name}: {spill} bytes stored/loaded");
                Assert.True(int.Parse(blocks) >= 2, $"{kernel} fits {blocks} blocks per SM on {name}");
            }
        }
    }
}

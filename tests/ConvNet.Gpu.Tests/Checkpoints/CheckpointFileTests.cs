using System.Buffers.Binary;
using System.Text;
using ConvNet.Gpu.Checkpoints;
using ConvNet.Gpu.IO;
using ConvNet.Gpu.Tests.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Checkpoints;

public sealed class CheckpointFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Bit-at-a-time CRC-32C (reflected polynomial 0x82F63B78): the test's independent checksum oracle.</summary>
    private static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    /// <summary>Rewrites both checksums of a file after the test edited it, so only the edit itself is under test.</summary>
    private static void ResealChecksums(byte[] file)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(24), ReferenceCrc32C(file.AsSpan(32)));
        BinaryPrimitives.WriteUInt32LittleEndian(file.AsSpan(28), ReferenceCrc32C(file.AsSpan(0, 28)));
    }

    private static CheckpointContent Sample()
    {
        var c = new CheckpointContent("convnet.model");
        c.Metadata["architecture"] = "{\"layers\":[{\"type\":\"Conv2D\",\"filters\":6}]}";
        c.Metadata["epoch"] = "3";
        c.Metadata["note"] = "ünïcødé ✓ 模型";
        c.Metadata["empty"] = "";
        c.Tensors["conv1.weight"] = new CheckpointTensor([6, 1, 5, 5], Enumerable.Range(0, 150).Select(i => MathF.Sin(i) * 0.1f).ToArray());
        c.Tensors["conv1.bias"] = new CheckpointTensor([6], [0.5f, -0.25f, float.NaN, float.PositiveInfinity, -0f, float.Epsilon]);
        c.Tensors["scalar"] = new CheckpointTensor([], [42f]);
        c.Tensors["empty"] = new CheckpointTensor([0, 3], []);
        c.Blobs["rng"] = IdxBytes.Pattern(32, 5);
        c.Blobs["nothing"] = [];
        return c;
    }

    private static void AssertSameContent(CheckpointContent expected, CheckpointContent actual)
    {
        Assert.Equal(expected.Kind, actual.Kind);
        Assert.Equal(expected.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal), actual.Metadata.OrderBy(p => p.Key, StringComparer.Ordinal));
        Assert.Equal(expected.Tensors.Keys.Order(StringComparer.Ordinal), actual.Tensors.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, t) in expected.Tensors)
        {
            Assert.Equal(t.Dimensions, actual.Tensors[name].Dimensions);
            // Compare bit patterns: NaN, -0 and denormals must survive exactly.
            Assert.Equal(t.Data.Select(BitConverter.SingleToInt32Bits), actual.Tensors[name].Data.Select(BitConverter.SingleToInt32Bits));
        }
        Assert.Equal(expected.Blobs.Keys.Order(StringComparer.Ordinal), actual.Blobs.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, b) in expected.Blobs) Assert.Equal(b, actual.Blobs[name]);
    }

    private CheckpointFormatException ReadFails(byte[] bytes, string name = "bad.ckpt")
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.Read(path));
        Assert.Equal(path, e.FilePath);
        Assert.StartsWith(path + ": ", e.Message);
        return e;
    }

    private byte[] WrittenBytes()
    {
        string path = _dir.File("good.ckpt");
        CheckpointFile.Write(path, Sample());
        return File.ReadAllBytes(path);
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        var data = IdxBytes.Pattern(1000, 3);
        Assert.Equal(ReferenceCrc32C(data), Crc32C.Compute(data));
        Assert.Equal(ReferenceCrc32C(data), Crc32C.Finish(Crc32C.Update(Crc32C.Update(Crc32C.InitialState, data.AsSpan(0, 333)), data.AsSpan(333))));
    }

    [Fact]
    public void RoundTripsEveryKindOfEntry()
    {
        string path = _dir.File("model.ckpt");
        var content = Sample();

        CheckpointFile.Write(path, content);
        var read = CheckpointFile.Read(path);

        AssertSameContent(content, read);
        Assert.Single(Directory.GetFiles(_dir.Path)); // no temp file left behind
    }

    [Fact]
    public void RoundTripsEmptyContent()
    {
        string path = _dir.File("empty.ckpt");
        CheckpointFile.Write(path, new CheckpointContent("x"));

        var read = CheckpointFile.Read(path);

        Assert.Equal("x", read.Kind);
        Assert.Empty(read.Metadata);
        Assert.Empty(read.Tensors);
        Assert.Empty(read.Blobs);
    }

    [Fact]
    public void HeaderFollowsTheDocumentedLayout()
    {
        var bytes = WrittenBytes();

        Assert.Equal("CNGPUCKP", Encoding.ASCII.GetString(bytes, 0, 8));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12)));
        Assert.Equal((ulong)bytes.Length - 32, BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(16)));
        Assert.Equal(ReferenceCrc32C(bytes.AsSpan(32)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(24)));
        Assert.Equal(ReferenceCrc32C(bytes.AsSpan(0, 28)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(28)));
        // The kind string opens the body: u32 length then UTF-8.
        Assert.Equal(13u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(32)));
        Assert.Equal("convnet.model", Encoding.UTF8.GetString(bytes, 36, 13));
    }

    [Fact]
    public void SameContentGivesTheSameBytesWhateverTheInsertionOrder()
    {
        var a = Sample();
        var b = new CheckpointContent(a.Kind);
        foreach (var p in a.Metadata.Reverse()) b.Metadata[p.Key] = p.Value;
        foreach (var p in a.Tensors.Reverse()) b.Tensors[p.Key] = p.Value;
        foreach (var p in a.Blobs.Reverse()) b.Blobs[p.Key] = p.Value;

        CheckpointFile.Write(_dir.File("a"), a);
        CheckpointFile.Write(_dir.File("b"), b);

        Assert.Equal(File.ReadAllBytes(_dir.File("a")), File.ReadAllBytes(_dir.File("b")));
    }

    [Fact]
    public void TruncationAtAnyPointIsDetected()
    {
        var bytes = WrittenBytes();
        int[] cuts = [0, 1, 7, 8, 20, 31, 32, 33, 100, bytes.Length / 2, bytes.Length - 64, bytes.Length - 1];

        foreach (int cut in cuts)
        {
            var e = ReadFails(bytes[..cut], $"cut-{cut}.ckpt");
            if (cut == 0) Assert.Contains("found an empty file", e.Message);
            else if (cut < 32) Assert.Contains($"truncated: the file is {cut} bytes, shorter than the 32-byte checkpoint header", e.Message);
            else Assert.Contains($"truncated: the header declares {bytes.Length} bytes but the file has only {cut}", e.Message);
        }
    }

    [Fact]
    public void EverySingleBitFlipIsDetected()
    {
        var good = WrittenBytes();
        string path = _dir.File("flipped.ckpt");
        for (int i = 0; i < good.Length; i++)
        {
            int bit = i % 8;
            var bytes = (byte[])good.Clone();
            bytes[i] ^= (byte)(1 << bit);
            File.WriteAllBytes(path, bytes);

            var e = Assert.Throws<CheckpointFormatException>(() => CheckpointFile.Read(path));

            string expected = i switch
            {
                < 8 => "not a ConvNet.Gpu checkpoint",
                < 12 => "format version",
                < 32 => "corrupt header",
                _ => "checksum mismatch",
            };
            Assert.True(e.Message.Contains(expected), $"byte {i} bit {bit}: expected '{expected}' in: {e.Message}");
        }
    }

    [Fact]
    public void WrongMagicSaysWhatWasFound()
    {
        var e = ReadFails(Encoding.ASCII.GetBytes("PK\u0003\u0004 this is a zip file, not a checkpoint........"));

        Assert.Contains("not a ConvNet.Gpu checkpoint: expected the magic \"CNGPUCKP\" at byte 0 but found 0x504B0304", e.Message);
        Assert.Contains("(\"PK.. thi\")", e.Message);
    }

    [Fact]
    public void FutureVersionIsRejectedWithBothVersions()
    {
        var bytes = WrittenBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 2);
        ResealChecksums(bytes);

        var e = ReadFails(bytes);

        Assert.Contains("unsupported format version 2: this build reads version 1", e.Message);
        Assert.Contains("newer ConvNet.Gpu", e.Message);
    }

    [Fact]
    public void UnknownFlagsAreRejected()
    {
        var bytes = WrittenBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), 4);
        ResealChecksums(bytes);

        Assert.Contains("unsupported header flags 0x00000004", ReadFails(bytes).Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        var bytes = WrittenBytes().Concat(new byte[] { 1, 2, 3 }).ToArray();

        var e = ReadFails(bytes);

        Assert.Contains($"3 unexpected bytes after the declared end of the checkpoint at byte {bytes.Length - 3}", e.Message);
    }

    [Fact]
    public void MalformedTableWithValidChecksumsIsRejected()
    {
        // Claim far more sections than the table holds (the count follows the 4 + 13 byte kind string).
        var bytes = WrittenBytes();
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(32 + 4 + 13), 1_000_000);
        ResealChecksums(bytes);

        var e = ReadFails(bytes);

        Assert.Contains("malformed", e.Message);
    }

    [Fact]
    public void OverwritesThePreviousCheckpoint()
    {
        string path = _dir.File("run.ckpt");
        CheckpointFile.Write(path, Sample());
        var second = new CheckpointContent("convnet.model");
        second.Metadata["epoch"] = "4";

        CheckpointFile.Write(path, second);

        AssertSameContent(second, CheckpointFile.Read(path));
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void CrashBeforeRenameLeavesThePreviousCheckpointIntact()
    {
        string path = _dir.File("run.ckpt");
        var previous = Sample();
        CheckpointFile.Write(path, previous);
        var next = new CheckpointContent("convnet.model");
        next.Metadata["epoch"] = "99";
        string? tempSeen = null;

        var crash = Assert.Throws<IOException>(() => CheckpointFile.Write(path, next, beforeRename: temp =>
        {
            tempSeen = temp;
            // The temporary file is complete and valid before the rename.
            Assert.Equal("99", CheckpointFile.Read(temp).Metadata["epoch"]);
            throw new IOException("simulated crash");
        }));

        Assert.Equal("simulated crash", crash.Message);
        Assert.StartsWith(path + ".tmp-", tempSeen);
        AssertSameContent(previous, CheckpointFile.Read(path));
        Assert.False(File.Exists(tempSeen));
    }

    [Fact]
    public void PartialTempFileFromAKilledWriterDoesNotAffectTheTarget()
    {
        // A process killed mid-write leaves a partial "path.tmp-xxxx" beside the target; the target must still load,
        // and the next write must succeed.
        string path = _dir.File("run.ckpt");
        var previous = Sample();
        CheckpointFile.Write(path, previous);
        var full = File.ReadAllBytes(path);
        File.WriteAllBytes(path + ".tmp-dead01", full[..(full.Length / 3)]);

        AssertSameContent(previous, CheckpointFile.Read(path));
        Assert.Throws<CheckpointFormatException>(() => CheckpointFile.Read(path + ".tmp-dead01"));

        var next = new CheckpointContent("convnet.model");
        next.Blobs["state"] = [1, 2, 3];
        CheckpointFile.Write(path, next);
        AssertSameContent(next, CheckpointFile.Read(path));
    }

    [Fact]
    public void InvalidContentFailsBeforeTouchingTheTarget()
    {
        string path = _dir.File("run.ckpt");
        CheckpointFile.Write(path, Sample());
        var bad = new CheckpointContent("convnet.model");
        bad.Tensors[""] = new CheckpointTensor([1], [1f]);

        Assert.Throws<ConvNetArgumentException>(() => CheckpointFile.Write(path, bad));

        AssertSameContent(Sample(), CheckpointFile.Read(path));
        Assert.Single(Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void CreatesTheParentDirectory()
    {
        string path = Path.Combine(_dir.Path, "nested", "deeper", "model.ckpt");

        CheckpointFile.Write(path, Sample());

        AssertSameContent(Sample(), CheckpointFile.Read(path));
    }

    [Fact]
    public void DirectoryFsyncWorksOnPosix()
    {
        if (OperatingSystem.IsWindows()) Assert.Skip("Windows has no directory fsync; NTFS journals the rename.");

        Assert.True(DirectorySync.Flush(_dir.Path));
        Assert.False(DirectorySync.Flush(_dir.File("no-such-directory")));
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => CheckpointFile.Read(_dir.File("absent.ckpt")));
    }

    [Fact]
    public void TensorDimensionsMustMatchTheData()
    {
        var e = Assert.Throws<ConvNetArgumentException>(() => new CheckpointTensor([2, 3], new float[5]));
        Assert.Contains("[2, 3] hold 6 values but the data has 5", e.Message);
        Assert.Throws<ConvNetArgumentException>(() => new CheckpointTensor([-1], []));
        Assert.Throws<ConvNetArgumentException>(() => new CheckpointContent(""));
    }
}

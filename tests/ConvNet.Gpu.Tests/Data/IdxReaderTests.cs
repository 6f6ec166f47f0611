using ConvNet.Gpu.Data;
using Xunit;

namespace ConvNet.Gpu.Tests.Data;

public sealed class IdxReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string WriteFile(string name, byte[] bytes)
    {
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static IdxFormatException ReadFails(string path, int? rank = null) =>
        Assert.Throws<IdxFormatException>(() => IdxReader.Read(path, rank));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsImagesRawAndGzip(bool gzip)
    {
        var pixels = IdxBytes.Pattern(5 * 3 * 4, seed: 7);
        var raw = IdxBytes.Images(5, 3, 4, pixels);
        string path = WriteFile("imgs", gzip ? IdxBytes.Gzip(raw) : raw);

        var array = IdxReader.ReadImages(path);

        Assert.Equal([5, 3, 4], array.Dimensions);
        Assert.Equal(3, array.Rank);
        Assert.Equal(pixels, array.Data);
        Assert.Equal("5x3x4", array.ToString());
    }

    [Fact]
    public void DetectsGzipByContentNotByExtension()
    {
        var labels = IdxBytes.Pattern(17, seed: 3, modulo: 10);
        // A gzip file without ".gz", and a raw file that is named ".gz".
        string gzNoExt = WriteFile("labels-compressed", IdxBytes.Gzip(IdxBytes.Labels(labels)));
        string rawWithGz = WriteFile("labels-raw.gz", IdxBytes.Labels(labels));

        Assert.Equal(labels, IdxReader.ReadLabels(gzNoExt).Data);
        Assert.Equal(labels, IdxReader.ReadLabels(rawWithGz).Data);
    }

    [Fact]
    public void ReadsFromNonSeekableStream()
    {
        var pixels = IdxBytes.Pattern(2 * 2 * 2, seed: 9);
        var gz = IdxBytes.Gzip(IdxBytes.Images(2, 2, 2, pixels));
        using var stream = new NonSeekableStream(new MemoryStream(gz));

        var array = IdxReader.Read(stream, "in-memory", expectedRank: 3);

        Assert.Equal(pixels, array.Data);
    }

    [Fact]
    public void ReadsOtherRanksWhenNoRankIsRequired()
    {
        var data = IdxBytes.Pattern(2 * 3 * 2 * 2, seed: 5);
        string path = WriteFile("rank4", IdxBytes.Build(0x08, [2, 3, 2, 2], data));

        var array = IdxReader.Read(path);

        Assert.Equal([2, 3, 2, 2], array.Dimensions);
        Assert.Equal(data, array.Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadMagicNamesFileAndValue(bool gzip)
    {
        var raw = IdxBytes.Images(1, 2, 2, [1, 2, 3, 4]);
        raw[0] = 0x12;
        raw[1] = 0x34;
        string path = WriteFile("bad-magic", gzip ? IdxBytes.Gzip(raw) : raw);

        var e = ReadFails(path);

        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("bad magic 0x12340803", e.Message);
    }

    [Fact]
    public void UnsupportedDataTypeIsNamed()
    {
        string path = WriteFile("floats", IdxBytes.Build(0x0D, [2], new byte[8]));

        var e = ReadFails(path);

        Assert.Contains("unsupported data type 0x0D (float32)", e.Message);
    }

    [Fact]
    public void LabelFileWhereImagesExpectedIsRejected()
    {
        string path = WriteFile("labels", IdxBytes.Labels([1, 2, 3]));

        var e = Assert.Throws<IdxFormatException>(() => IdxReader.ReadImages(path));

        Assert.Contains("bad magic 0x00000801", e.Message);
        Assert.Contains("expected image file (magic 0x00000803, rank 3)", e.Message);
    }

    [Theory]
    [InlineData(0, "rank 0")]
    [InlineData(5, "rank 5")]
    public void UnsupportedRankIsRejected(int rank, string expected)
    {
        string path = WriteFile("rank", [0, 0, 0x08, (byte)rank, 0, 0, 0, 1, 7]);

        var e = ReadFails(path);

        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(0, "expected a 4-byte magic number but the file ends after 0 byte(s)")]
    [InlineData(3, "expected a 4-byte magic number but the file ends after 3 byte(s)")]
    [InlineData(4, "expected 16 header bytes (magic and 3 dimension(s)) but the file ends after 4")]
    [InlineData(13, "expected 16 header bytes (magic and 3 dimension(s)) but the file ends after 13")]
    public void TruncatedHeaderSaysWhereItEnds(int keep, string expected)
    {
        var raw = IdxBytes.Images(2, 2, 2, IdxBytes.Pattern(8, 1));
        string path = WriteFile("short-header", raw[..keep]);

        var e = ReadFails(path);

        Assert.Contains("truncated header", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedDataSaysExpectedAndActualBytes(bool gzip)
    {
        var raw = IdxBytes.Images(10, 4, 5, IdxBytes.Pattern(200, 1));
        var cut = raw[..(16 + 123)];
        string path = WriteFile("short-data", gzip ? IdxBytes.Gzip(cut) : cut);

        var e = ReadFails(path);

        Assert.Contains("expected 200 bytes of image data (10x4x5) but the file ends after 123 (at byte 139 of 216)", e.Message);
    }

    [Fact]
    public void TruncatedGzipStreamIsAnIdxError()
    {
        var gz = IdxBytes.Gzip(IdxBytes.Images(50, 10, 10, IdxBytes.Pattern(5000, 1)));
        string path = WriteFile("cut.gz", gz[..(gz.Length / 2)]);

        var e = ReadFails(path);

        Assert.Equal(path, e.FilePath);
        // .NET's inflater reports a cut-off deflate stream as a plain end of data, so the reader says how much it got.
        Assert.Contains("truncated: expected 5000 bytes of image data (50x10x10) but the file ends after", e.Message);
        Assert.EndsWith("(after gzip decompression).", e.Message);
    }

    [Fact]
    public void CorruptGzipStreamIsAnIdxError()
    {
        var gz = IdxBytes.Gzip(IdxBytes.Images(50, 10, 10, IdxBytes.Pattern(5000, 1)));
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A; // scramble the deflate data, keep the gzip header
        string path = WriteFile("scrambled.gz", gz);

        var e = ReadFails(path);

        Assert.Equal(path, e.FilePath);
        Assert.Contains("corrupt gzip stream: ", e.Message);
        Assert.IsType<InvalidDataException>(e.InnerException);
    }

    [Fact]
    public void ZeroDimensionIsRejected()
    {
        string path = WriteFile("zero-dim", IdxBytes.Build(0x08, [3, 0, 4], []));

        var e = ReadFails(path);

        Assert.Contains("bad dimensions: dimension 1 of 3 is 0", e.Message);
    }

    [Fact]
    public void HugeDimensionIsRejectedBeforeAllocating()
    {
        // 0xFFFFFFFF images: more than int.MaxValue.
        string path = WriteFile("huge-dim", [0, 0, 0x08, 1, 0xFF, 0xFF, 0xFF, 0xFF]);

        var e = ReadFails(path);

        Assert.Contains("dimension 0 of 1 is 4294967295", e.Message);
    }

    [Fact]
    public void DimensionsWhoseProductOverflowsAreRejected()
    {
        string path = WriteFile("too-big", IdxBytes.Build(0x08, [100000, 100000, 28], []));

        var e = ReadFails(path);

        Assert.Contains("bad dimensions", e.Message);
        Assert.Contains("largest array", e.Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        var raw = IdxBytes.Labels([1, 2, 3]).Concat(new byte[] { 9, 9 }).ToArray();
        string path = WriteFile("trailing", raw);

        var e = ReadFails(path);

        Assert.Contains("unexpected data after the 3 bytes declared by the header (3)", e.Message);
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => IdxReader.Read(_dir.File("nope")));
    }

    private sealed class NonSeekableStream(Stream inner) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 3));
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) inner.Dispose(); base.Dispose(disposing); }
    }
}

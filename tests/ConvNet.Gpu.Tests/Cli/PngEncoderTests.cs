using Xunit;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using ConvNet.Gpu.Cli.Reporting;

namespace ConvNet.Gpu.Tests.Cli;

/// <summary>The report's PNG writer, checked by parsing its output independently (chunks, CRCs, inflated scanlines).</summary>
public sealed class PngEncoderTests
{
    [Fact]
    public void Crc32_matches_the_standard_check_value()
    {
        // CRC-32/ISO-HDLC of "123456789" is 0xCBF43926 (the catalogue's check value).
        uint crc = PngEncoder.Crc32(0xFFFFFFFFu, Encoding.ASCII.GetBytes("123456789")) ^ 0xFFFFFFFFu;
        Assert.Equal(0xCBF43926u, crc);
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(28, 28, 1)]
    [InlineData(5, 3, 3)]
    public void Round_trips_pixels_through_chunks_and_zlib(int width, int height, int channels)
    {
        var pixels = new byte[width * height * channels];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 37 + 11);

        byte[] png = channels == 1 ? PngEncoder.EncodeGray(pixels, width, height) : PngEncoder.EncodeRgb(pixels, width, height);

        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        var chunks = ReadChunks(png);
        Assert.Equal(["IHDR", "IDAT", "IEND"], chunks.Select(c => c.Type).ToArray());
        byte[] ihdr = chunks[0].Data;
        Assert.Equal(width, BinaryPrimitives.ReadInt32BigEndian(ihdr));
        Assert.Equal(height, BinaryPrimitives.ReadInt32BigEndian(ihdr.AsSpan(4)));
        Assert.Equal(8, ihdr[8]);
        Assert.Equal(channels == 1 ? 0 : 2, ihdr[9]);

        using var inflated = new MemoryStream();
        using (var z = new ZLibStream(new MemoryStream(chunks[1].Data), CompressionMode.Decompress)) z.CopyTo(inflated);
        byte[] raw = inflated.ToArray();
        int stride = width * channels;
        Assert.Equal(height * (stride + 1), raw.Length);
        for (int y = 0; y < height; y++)
        {
            Assert.Equal(0, raw[y * (stride + 1)]); // filter type None
            Assert.Equal(pixels.AsSpan(y * stride, stride).ToArray(), raw.AsSpan(y * (stride + 1) + 1, stride).ToArray());
        }
    }

    [Fact]
    public void Rejects_a_buffer_of_the_wrong_size()
    {
        var ex = Assert.Throws<ArgumentException>(() => PngEncoder.EncodeGray(new byte[10], 4, 4));
        Assert.Contains("Expected 16 bytes", ex.Message);
    }

    [Fact]
    public void Kernel_tiles_put_zero_at_mid_gray_and_the_largest_magnitude_at_the_ends()
    {
        // Scaled by max |w| = 2: -2 -> 0 (black), 0 -> 127.5 -> 128, 2 -> 255 (white), 1 -> 191.25 -> 191.
        byte[] png = ImageTiles.Kernel([-2f, 0f, 2f, 1f], 2, 2);

        Assert.Equal(new byte[] { 0, 128, 255, 191 }, GrayPixels(png, 2, 2));
    }

    [Fact]
    public void Response_tiles_stretch_each_map_from_its_minimum_to_its_maximum()
    {
        byte[] png = ImageTiles.Response([-3f, -1f, 1f, 5f], 2, 2);

        Assert.Equal(new byte[] { 0, 64, 128, 255 }, GrayPixels(png, 2, 2)); // (v + 3) / 8 * 255, rounded
    }

    private static byte[] GrayPixels(byte[] png, int width, int height)
    {
        var chunks = ReadChunks(png);
        using var inflated = new MemoryStream();
        using (var z = new ZLibStream(new MemoryStream(chunks.Single(c => c.Type == "IDAT").Data), CompressionMode.Decompress)) z.CopyTo(inflated);
        byte[] raw = inflated.ToArray();
        var pixels = new byte[width * height];
        for (int y = 0; y < height; y++) Array.Copy(raw, y * (width + 1) + 1, pixels, y * width, width);
        return pixels;
    }

    private static List<(string Type, byte[] Data)> ReadChunks(byte[] png)
    {
        var chunks = new List<(string, byte[])>();
        int at = 8;
        while (at < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            string type = Encoding.ASCII.GetString(png, at + 4, 4);
            byte[] data = png.AsSpan(at + 8, length).ToArray();
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(at + 8 + length));
            Assert.Equal(BitwiseCrc(png.AsSpan(at + 4, 4 + length)), crc);
            chunks.Add((type, data));
            at += 12 + length;
        }
        return chunks;
    }

    /// <summary>A bit-at-a-time CRC-32, independent of the encoder's table.</summary>
    private static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFFu;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}

using System.Buffers.Binary;
using System.Collections.Immutable;
using System.IO.Compression;

namespace ConvNet.Gpu.Data;

/// <summary>
/// Reads IDX files, the container format of MNIST and Fashion-MNIST: a 4-byte big-endian magic number
/// (two zero bytes, the data type, the rank), one big-endian u32 per dimension, then the row-major data.
/// Only unsigned-byte data (type 0x08) is supported: images have magic 0x00000803 (count × rows × columns),
/// labels 0x00000801 (count). Files may be raw or gzip-compressed; gzip is detected by its magic bytes
/// (1f 8b), not by the file name, and decompressed while streaming. Every defect raises
/// <see cref="IdxFormatException"/> naming the file and what was wrong.
/// </summary>
public static class IdxReader
{
    /// <summary>The IDX data-type code for unsigned bytes, the only one this reader accepts.</summary>
    public const byte UnsignedByteType = 0x08;

    /// <summary>Magic number of an IDX file of unsigned-byte images (rank 3).</summary>
    public const uint ImagesMagic = 0x00000803;

    /// <summary>Magic number of an IDX file of unsigned-byte labels (rank 1).</summary>
    public const uint LabelsMagic = 0x00000801;

    private const int MaxRank = 4;
    private const int CopyChunk = 1 << 20;

    /// <summary>Reads an image file: rank 3 (count, rows, columns), magic 0x00000803.</summary>
    /// <param name="path">Path of a raw or gzip-compressed IDX file.</param>
    /// <exception cref="IdxFormatException">The file is truncated, malformed, or not an image file.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static IdxArray ReadImages(string path) => Read(path, expectedRank: 3);

    /// <summary>Reads a label file: rank 1 (count), magic 0x00000801.</summary>
    /// <param name="path">Path of a raw or gzip-compressed IDX file.</param>
    /// <exception cref="IdxFormatException">The file is truncated, malformed, or not a label file.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static IdxArray ReadLabels(string path) => Read(path, expectedRank: 1);

    /// <summary>Reads an unsigned-byte IDX file of any rank from 1 to 4, or of exactly <paramref name="expectedRank"/>.</summary>
    /// <param name="path">Path of a raw or gzip-compressed IDX file.</param>
    /// <param name="expectedRank">The rank the caller needs, or null to accept any.</param>
    /// <exception cref="IdxFormatException">The file is truncated or malformed.</exception>
    /// <exception cref="IOException">The file cannot be opened.</exception>
    public static IdxArray Read(string path, int? expectedRank = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Read(file, path, expectedRank);
    }

    /// <summary>Reads an unsigned-byte IDX array from a stream (raw or gzip, detected from the first two bytes).</summary>
    /// <param name="stream">The input, positioned at the start of the IDX (or gzip) data; it need not be seekable.</param>
    /// <param name="name">The name to use in error messages, usually the file path.</param>
    /// <param name="expectedRank">The rank the caller needs, or null to accept any.</param>
    /// <exception cref="IdxFormatException">The data is truncated or malformed.</exception>
    public static IdxArray Read(Stream stream, string name, int? expectedRank = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        if (expectedRank is < 1 or > MaxRank)
            throw new ArgumentOutOfRangeException(nameof(expectedRank), expectedRank, $"An IDX rank is 1 to {MaxRank}.");

        var sniff = new byte[2];
        int sniffed = ReadFully(stream, sniff, name);
        Stream replay = new PrefixReplayStream(sniff, sniffed, stream);
        if (sniffed == 2 && sniff[0] == 0x1f && sniff[1] == 0x8b)
        {
            using var gzip = new GZipStream(replay, CompressionMode.Decompress, leaveOpen: true);
            return ReadIdx(gzip, name, expectedRank, compressed: true);
        }
        return ReadIdx(replay, name, expectedRank, compressed: false);
    }

    private static IdxArray ReadIdx(Stream s, string name, int? expectedRank, bool compressed)
    {
        string where = compressed ? " (after gzip decompression)" : "";
        Span<byte> magicBytes = stackalloc byte[4];
        int got = ReadFully(s, magicBytes, name);
        if (got < 4)
            throw new IdxFormatException(name, $"truncated header: expected a 4-byte magic number but the file ends after {got} byte(s){where}.");
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(magicBytes);
        if (magicBytes[0] != 0 || magicBytes[1] != 0)
            throw new IdxFormatException(name,
                $"bad magic 0x{magic:X8}: an IDX file starts with two zero bytes, the data type and the rank " +
                $"(0x{ImagesMagic:X8} for images, 0x{LabelsMagic:X8} for labels).");
        byte dataType = magicBytes[2];
        int rank = magicBytes[3];
        if (dataType != UnsignedByteType)
            throw new IdxFormatException(name,
                $"unsupported data type 0x{dataType:X2} ({DataTypeName(dataType)}) in magic 0x{magic:X8}; only 0x08 (unsigned byte) is supported.");
        if (rank is < 1 or > MaxRank)
            throw new IdxFormatException(name, $"bad magic 0x{magic:X8}: rank {rank} is not supported (1 to {MaxRank}).");
        if (expectedRank is int want && rank != want)
            throw new IdxFormatException(name,
                $"bad magic 0x{magic:X8}: expected {KindOfRank(want)} file (magic 0x{(uint)(0x800 | want):X8}, rank {want}) but the file has rank {rank}.");

        int headerBytes = 4 + 4 * rank;
        Span<byte> dimBytes = stackalloc byte[4 * MaxRank];
        dimBytes = dimBytes[..(4 * rank)];
        got = ReadFully(s, dimBytes, name);
        if (got < dimBytes.Length)
            throw new IdxFormatException(name,
                $"truncated header: expected {headerBytes} header bytes (magic and {rank} dimension(s)) but the file ends after {4 + got}{where}.");

        var dims = new int[rank];
        long elements = 1;
        for (int i = 0; i < rank; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes.Slice(4 * i, 4));
            if (d == 0)
                throw new IdxFormatException(name, $"bad dimensions: dimension {i} of {rank} is 0.");
            if (d > int.MaxValue)
                throw new IdxFormatException(name, $"bad dimensions: dimension {i} of {rank} is {d}, larger than {int.MaxValue}.");
            dims[i] = (int)d;
            elements *= d; // at most 4 factors below 2^31 only overflow past rank 2; check each step
            if (elements > Array.MaxLength)
                throw new IdxFormatException(name,
                    $"bad dimensions: [{string.Join(", ", dims.Take(i + 1))}...] need more than {Array.MaxLength} bytes, the largest array this reader can hold.");
        }

        var data = new byte[elements];
        int read = 0;
        while (read < data.Length)
        {
            int n = ReadSome(s, data.AsSpan(read, Math.Min(CopyChunk, data.Length - read)), name);
            if (n == 0)
                throw new IdxFormatException(name,
                    $"truncated: expected {data.Length} bytes of {KindOfRank(rank)} data ({string.Join("x", dims)}) " +
                    $"but the file ends after {read} (at byte {headerBytes + (long)read} of {headerBytes + (long)data.Length}){where}.");
            read += n;
        }

        Span<byte> probe = stackalloc byte[1];
        if (ReadSome(s, probe, name) != 0)
            throw new IdxFormatException(name,
                $"unexpected data after the {data.Length} bytes declared by the header ({string.Join("x", dims)}); the dimensions or the file are wrong{where}.");

        return new IdxArray(ImmutableArray.Create(dims), data);
    }

    /// <summary>Reads until the span is full or the stream ends; returns the bytes read.</summary>
    private static int ReadFully(Stream s, Span<byte> buffer, string name)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = ReadSome(s, buffer[total..], name);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>One read, turning a gzip decoder failure into an <see cref="IdxFormatException"/> for this file.</summary>
    private static int ReadSome(Stream s, Span<byte> buffer, string name)
    {
        try
        {
            return s.Read(buffer);
        }
        catch (InvalidDataException e)
        {
            throw new IdxFormatException(name, $"corrupt gzip stream: {e.Message}", e);
        }
    }

    private static string KindOfRank(int rank) => rank switch
    {
        3 => "image",
        1 => "label",
        _ => $"rank-{rank}",
    };

    private static string DataTypeName(byte type) => type switch
    {
        0x08 => "unsigned byte",
        0x09 => "signed byte",
        0x0B => "int16",
        0x0C => "int32",
        0x0D => "float32",
        0x0E => "float64",
        _ => "not an IDX type",
    };
}

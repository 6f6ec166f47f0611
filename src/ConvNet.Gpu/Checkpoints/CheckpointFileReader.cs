using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>
/// Parses and verifies a checkpoint file in the layout of <see cref="CheckpointFileFormat"/>: magic, version, header
/// checksum, declared length against the real length, body checksum, then every table entry's bounds. Any failure is a
/// <see cref="CheckpointFormatException"/> that says what was expected and what was found.
/// </summary>
internal static class CheckpointFileReader
{
    public static CheckpointContent Read(Stream stream, string path)
    {
        long fileLength = stream.Length;
        Span<byte> header = stackalloc byte[CheckpointFileFormat.HeaderSize];
        int headerRead = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        int magicRead = Math.Min(headerRead, CheckpointFileFormat.Magic.Length);
        if (!header[..magicRead].SequenceEqual(CheckpointFileFormat.Magic[..magicRead]) || fileLength == 0)
            throw Fail(path, $"not a ConvNet.Gpu checkpoint: expected the magic \"CNGPUCKP\" at byte 0 but found {Describe(header[..magicRead])}.");
        if (headerRead < CheckpointFileFormat.HeaderSize)
            throw Fail(path, $"truncated: the file is {fileLength} bytes, shorter than the {CheckpointFileFormat.HeaderSize}-byte checkpoint header.");

        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != CheckpointFile.FormatVersion)
            throw Fail(path, version > CheckpointFile.FormatVersion
                ? $"unsupported format version {version}: this build reads version {CheckpointFile.FormatVersion}; the file was written by a newer ConvNet.Gpu (or its header is corrupt)."
                : $"invalid format version {version}: expected {CheckpointFile.FormatVersion}.");

        uint storedHeaderCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[CheckpointFileFormat.HeaderChecksumOffset..]);
        uint headerCrc = Crc32C.Compute(header[..CheckpointFileFormat.HeaderChecksumOffset]);
        if (headerCrc != storedHeaderCrc)
            throw Fail(path, $"corrupt header: its CRC-32C is 0x{headerCrc:X8} but byte {CheckpointFileFormat.HeaderChecksumOffset} stores 0x{storedHeaderCrc:X8}.");

        uint flags = BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        if (flags != CheckpointFileFormat.NoFlags)
            throw Fail(path, $"unsupported header flags 0x{flags:X8}: this build knows none (expected 0x00000000).");

        ulong bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(header[16..]);
        ulong declared = CheckpointFileFormat.HeaderSize + bodyLength;
        if (bodyLength > (ulong)Array.MaxLength)
            throw Fail(path, $"the header declares a body of {bodyLength} bytes, more than this reader supports ({Array.MaxLength}).");
        if ((ulong)fileLength < declared)
            throw Fail(path, $"truncated: the header declares {declared} bytes but the file has only {fileLength} (it was cut off while being written or copied).");
        if ((ulong)fileLength > declared)
            throw Fail(path, $"{(ulong)fileLength - declared} unexpected bytes after the declared end of the checkpoint at byte {declared} (file length {fileLength}).");

        var body = new byte[bodyLength];
        int bodyRead = stream.ReadAtLeast(body, body.Length, throwOnEndOfStream: false);
        if (bodyRead < body.Length)
            throw Fail(path, $"truncated: expected {body.Length} body bytes after the header but read only {bodyRead}.");
        uint storedBodyCrc = BinaryPrimitives.ReadUInt32LittleEndian(header[CheckpointFileFormat.BodyChecksumOffset..]);
        uint bodyCrc = Crc32C.Compute(body);
        if (bodyCrc != storedBodyCrc)
            throw Fail(path, $"checksum mismatch: the CRC-32C of bytes {CheckpointFileFormat.HeaderSize}..{declared} is 0x{bodyCrc:X8} " +
                $"but the header stores 0x{storedBodyCrc:X8}; the file is corrupt.");

        return ParseBody(body, path);
    }

    private static CheckpointContent ParseBody(byte[] body, string path)
    {
        var r = new BodyReader(body, path);
        string kind = r.String("the kind");
        if (kind.Length == 0) throw Fail(path, "malformed: the checkpoint kind is empty.");
        var content = new CheckpointContent(kind);
        uint sectionCount = r.U32("the section count");

        for (uint i = 0; i < sectionCount; i++)
        {
            string what = $"section {i} of {sectionCount}";
            byte type = r.U8(what);
            string name = r.String($"the name of {what}");
            if (name.Length == 0) throw Fail(path, $"malformed: {what} has an empty name.");
            int rank = r.U8($"the rank of '{name}'");
            if (rank > CheckpointTensor.MaxRank || (rank != 0 && type != (byte)CheckpointSectionType.Tensor))
                throw Fail(path, $"malformed: section '{name}' (type {type}) has rank {rank}.");
            var dims = new int[rank];
            long elements = 1;
            for (int d = 0; d < rank; d++)
            {
                uint dim = r.U32($"dimension {d} of '{name}'");
                if (dim > int.MaxValue) throw Fail(path, $"malformed: dimension {d} of tensor '{name}' is {dim}.");
                dims[d] = (int)dim;
                elements = elements * dim;
                if (elements > Array.MaxLength) throw Fail(path, $"malformed: tensor '{name}' [{string.Join(", ", dims[..(d + 1)])}...] is too large.");
            }
            ulong offset = r.U64($"the data offset of '{name}'");
            ulong length = r.U64($"the data length of '{name}'");
            ulong bodyStart = CheckpointFileFormat.HeaderSize;
            ulong fileEnd = bodyStart + (ulong)body.Length;
            if (offset < bodyStart || offset > fileEnd || length > fileEnd - offset)
                throw Fail(path, $"malformed: section '{name}' claims bytes {offset}..{offset + length}, outside the file's body {bodyStart}..{fileEnd}.");
            var data = body.AsSpan((int)(offset - bodyStart), (int)length);

            switch ((CheckpointSectionType)type)
            {
                case CheckpointSectionType.Metadata:
                    AddUnique(content.Metadata, name, Utf8(data, path, $"metadata '{name}'"), path, "metadata");
                    break;
                case CheckpointSectionType.Tensor:
                    if ((ulong)elements * sizeof(float) != length)
                        throw Fail(path, $"malformed: tensor '{name}' [{string.Join(", ", dims)}] needs {elements * sizeof(float)} bytes but its section has {length}.");
                    AddUnique(content.Tensors, name, new CheckpointTensor(dims, Floats(data)), path, "tensor");
                    break;
                case CheckpointSectionType.Blob:
                    AddUnique(content.Blobs, name, data.ToArray(), path, "blob");
                    break;
                default:
                    throw Fail(path, $"malformed: section '{name}' has unknown type {type} (expected 1 metadata, 2 tensor or 3 blob).");
            }
        }
        return content;
    }

    private static float[] Floats(ReadOnlySpan<byte> bytes)
    {
        var values = new float[bytes.Length / sizeof(float)];
        if (BitConverter.IsLittleEndian) bytes.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        else for (int i = 0; i < values.Length; i++) values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(4 * i)..]);
        return values;
    }

    private static string Utf8(ReadOnlySpan<byte> bytes, string path, string what)
    {
        try { return CheckpointFileFormat.StrictUtf8.GetString(bytes); }
        catch (DecoderFallbackException) { throw Fail(path, $"malformed: {what} is not valid UTF-8."); }
    }

    private static void AddUnique<T>(IDictionary<string, T> map, string name, T value, string path, string what)
    {
        if (!map.TryAdd(name, value)) throw Fail(path, $"malformed: {what} '{name}' appears twice.");
    }

    private static string Describe(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0) return "an empty file";
        var hex = Convert.ToHexString(bytes);
        var text = new StringBuilder();
        foreach (byte b in bytes) text.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
        return $"0x{hex} (\"{text}\")";
    }

    private static CheckpointFormatException Fail(string path, string problem) => new(path, problem);

    /// <summary>Bounds-checked little-endian reads from the body, naming the field on failure.</summary>
    private ref struct BodyReader(byte[] body, string path)
    {
        private int _position;

        public byte U8(string what) => Take(1, what)[0];

        public uint U32(string what) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, what));

        public ulong U64(string what) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, what));

        public string String(string what)
        {
            uint length = U32($"the length of {what}");
            if (length > body.Length - _position)
                throw Fail(path, $"malformed: {what} claims {length} bytes but only {body.Length - _position} remain in the body.");
            return Utf8(Take((int)length, what), path, what);
        }

        private ReadOnlySpan<byte> Take(int count, string what)
        {
            if (count > body.Length - _position)
                throw Fail(path, $"malformed: the section table ends inside {what} (at body byte {_position}, need {count}, have {body.Length - _position}).");
            var span = body.AsSpan(_position, count);
            _position += count;
            return span;
        }
    }
}

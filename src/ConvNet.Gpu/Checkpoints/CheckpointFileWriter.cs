using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace ConvNet.Gpu.Checkpoints;

/// <summary>Serializes a <see cref="CheckpointContent"/> to a stream in the layout of <see cref="CheckpointFileFormat"/>.</summary>
internal static class CheckpointFileWriter
{
    private sealed record Section(CheckpointSectionType Type, string Name, byte[] NameBytes, int[] Dimensions, long Length)
    {
        public long Offset { get; set; }
        public byte[]? Bytes { get; init; }
        public float[]? Floats { get; init; }
    }

    /// <summary>Checks every entry (non-empty names, no null values) without writing anything.</summary>
    /// <exception cref="ConvNetArgumentException">An entry name is empty or a value is null.</exception>
    public static void Validate(CheckpointContent content) => _ = CollectSections(content);

    /// <summary>Writes the whole file to a seekable stream positioned at 0 (the header is written last, once the checksum is known).</summary>
    public static void Write(Stream stream, CheckpointContent content)
    {
        var sections = CollectSections(content);
        byte[] kind = CheckpointFileFormat.StrictUtf8.GetBytes(content.Kind);

        long tableSize = 4 + kind.Length + 4;
        foreach (var s in sections) tableSize += 1 + 4 + s.NameBytes.Length + 1 + 4 * s.Dimensions.Length + 8 + 8;
        long offset = CheckpointFileFormat.Align(CheckpointFileFormat.HeaderSize + tableSize);
        foreach (var s in sections)
        {
            s.Offset = offset;
            offset = CheckpointFileFormat.Align(offset + s.Length);
        }
        long fileLength = sections.Count == 0 ? CheckpointFileFormat.HeaderSize + tableSize
            : sections[^1].Offset + sections[^1].Length;

        var body = new ChecksummedWriter(stream);
        body.WriteZeros(CheckpointFileFormat.HeaderSize); // placeholder, outside the body checksum
        body.StartChecksum();
        using (var table = new MemoryStream((int)tableSize))
        {
            Span<byte> scratch = stackalloc byte[8];
            WriteString(table, kind, scratch);
            WriteU32(table, (uint)sections.Count, scratch);
            foreach (var s in sections)
            {
                table.WriteByte((byte)s.Type);
                WriteString(table, s.NameBytes, scratch);
                table.WriteByte((byte)s.Dimensions.Length);
                foreach (int d in s.Dimensions) WriteU32(table, (uint)d, scratch);
                WriteU64(table, (ulong)s.Offset, scratch);
                WriteU64(table, (ulong)s.Length, scratch);
            }
            body.Write(table.GetBuffer().AsSpan(0, (int)table.Length));
        }
        foreach (var s in sections)
        {
            body.WriteZeros(s.Offset - body.Position);
            if (s.Floats is { } floats) body.WriteFloats(floats);
            else body.Write(s.Bytes!);
        }
        if (body.Position != fileLength) throw new InvalidOperationException("Checkpoint layout mismatch (internal error).");

        Span<byte> header = stackalloc byte[CheckpointFileFormat.HeaderSize];
        CheckpointFileFormat.Magic.CopyTo(header);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], CheckpointFile.FormatVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], CheckpointFileFormat.NoFlags);
        BinaryPrimitives.WriteUInt64LittleEndian(header[16..], (ulong)(fileLength - CheckpointFileFormat.HeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(header[CheckpointFileFormat.BodyChecksumOffset..], body.Checksum);
        BinaryPrimitives.WriteUInt32LittleEndian(header[CheckpointFileFormat.HeaderChecksumOffset..],
            Crc32C.Compute(header[..CheckpointFileFormat.HeaderChecksumOffset]));
        stream.Position = 0;
        stream.Write(header);
    }

    private static List<Section> CollectSections(CheckpointContent content)
    {
        var sections = new List<Section>();
        foreach (var (name, value) in content.Metadata)
        {
            if (value is null) throw new ConvNetArgumentException($"Checkpoint metadata '{name}' is null.");
            byte[] bytes = CheckpointFileFormat.StrictUtf8.GetBytes(value);
            sections.Add(new Section(CheckpointSectionType.Metadata, name, NameBytes(name), [], bytes.Length) { Bytes = bytes });
        }
        foreach (var (name, tensor) in content.Tensors)
        {
            if (tensor is null) throw new ConvNetArgumentException($"Checkpoint tensor '{name}' is null.");
            sections.Add(new Section(CheckpointSectionType.Tensor, name, NameBytes(name), (int[])tensor.Dimensions.Clone(),
                (long)tensor.Data.Length * sizeof(float)) { Floats = tensor.Data });
        }
        foreach (var (name, blob) in content.Blobs)
        {
            if (blob is null) throw new ConvNetArgumentException($"Checkpoint blob '{name}' is null.");
            sections.Add(new Section(CheckpointSectionType.Blob, name, NameBytes(name), [], blob.Length) { Bytes = blob });
        }
        sections.Sort((a, b) => a.Type != b.Type ? a.Type.CompareTo(b.Type) : string.CompareOrdinal(a.Name, b.Name));
        return sections;
    }

    private static byte[] NameBytes(string name)
    {
        if (string.IsNullOrEmpty(name)) throw new ConvNetArgumentException("Checkpoint entry names must not be empty.");
        return CheckpointFileFormat.StrictUtf8.GetBytes(name);
    }

    private static void WriteString(Stream s, byte[] utf8, Span<byte> scratch)
    {
        WriteU32(s, (uint)utf8.Length, scratch);
        s.Write(utf8);
    }

    private static void WriteU32(Stream s, uint v, Span<byte> scratch)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(scratch, v);
        s.Write(scratch[..4]);
    }

    private static void WriteU64(Stream s, ulong v, Span<byte> scratch)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(scratch, v);
        s.Write(scratch[..8]);
    }

    /// <summary>Writes to the stream while tracking the position and, once started, the CRC-32C of everything written.</summary>
    private sealed class ChecksummedWriter(Stream stream)
    {
        private static readonly byte[] Zeros = new byte[CheckpointFileFormat.DataAlignment];
        private uint _state = Crc32C.InitialState;
        private bool _checksumming;

        public long Position { get; private set; }

        public uint Checksum => Crc32C.Finish(_state);

        public void StartChecksum() => _checksumming = true;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            stream.Write(bytes);
            if (_checksumming) _state = Crc32C.Update(_state, bytes);
            Position += bytes.Length;
        }

        public void WriteZeros(long count)
        {
            while (count > 0)
            {
                int n = (int)Math.Min(count, Zeros.Length);
                Write(Zeros.AsSpan(0, n));
                count -= n;
            }
        }

        public void WriteFloats(float[] values)
        {
            if (BitConverter.IsLittleEndian)
            {
                Write(MemoryMarshal.AsBytes(values.AsSpan()));
                return;
            }
            Span<byte> chunk = stackalloc byte[4096];
            for (int i = 0; i < values.Length; i += chunk.Length / 4)
            {
                int n = Math.Min(chunk.Length / 4, values.Length - i);
                for (int k = 0; k < n; k++) BinaryPrimitives.WriteSingleLittleEndian(chunk[(4 * k)..], values[i + k]);
                Write(chunk[..(4 * n)]);
            }
        }
    }
}

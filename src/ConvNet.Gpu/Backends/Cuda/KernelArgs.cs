using System.Runtime.CompilerServices;

namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>The C type of one packed kernel argument; the emulated device checks it against the kernel's parameter type.</summary>
internal enum KernelArgKind : byte
{
    /// <summary>A device pointer (<c>GPTR(T)</c>), 8 bytes.</summary>
    Pointer = 1,

    /// <summary><c>int</c>, 4 bytes.</summary>
    Int32 = 2,

    /// <summary><c>float</c>, 4 bytes.</summary>
    Float32 = 3,

    /// <summary><c>long long</c>, 8 bytes.</summary>
    Int64 = 4,

    /// <summary><c>unsigned long long</c>, 8 bytes.</summary>
    UInt64 = 5,
}

/// <summary>
/// Allocation-free packer for a kernel's arguments, in parameter order. CudaBackend never fills one by hand: the
/// launchers generated from the kernel signatures (<c>CudaKernels.X(...)</c>, see <see cref="KernelCall"/>) do, so the
/// count, order and C types always match the kernel. Device-level code and tests use it directly:
/// <code>
/// var args = new KernelArgs();
/// args.AddPointer(x); args.AddPointer(y); args.Add(n); args.Add(alpha);
/// device.Launch(kernel, grid, block, 0, args);
/// </code>
/// Values live inline in the struct (no boxing, no arrays). Each argument records its C type, so the emulated
/// device can reject a wrong count, size or kind (e.g. an int where the kernel takes a float) by name.
/// C# <c>ulong</c> is both a device pointer and a 64-bit integer: use <see cref="AddPointer"/> for pointers and
/// <see cref="Add(ulong)"/> for integers.
/// </summary>
internal struct KernelArgs
{
    /// <summary>Most arguments one launch can take.</summary>
    public const int MaxArguments = 24;

    private Slots _values;
    private Kinds _kinds;
    private int _count;

    /// <summary>Number of arguments added so far.</summary>
    public readonly int Count => _count;

    /// <summary>Adds a device pointer (<c>GPTR(T)</c> parameter).</summary>
    public void AddPointer(ulong devicePointer) => Push(devicePointer, KernelArgKind.Pointer);

    /// <summary>Adds an <c>int</c>.</summary>
    public void Add(int value) => Push(unchecked((uint)value), KernelArgKind.Int32);

    /// <summary>Adds a <c>float</c>.</summary>
    public void Add(float value) => Push(BitConverter.SingleToUInt32Bits(value), KernelArgKind.Float32);

    /// <summary>Adds a <c>long long</c>.</summary>
    public void Add(long value) => Push(unchecked((ulong)value), KernelArgKind.Int64);

    /// <summary>Adds an <c>unsigned long long</c> integer (not a pointer: see <see cref="AddPointer"/>).</summary>
    public void Add(ulong value) => Push(value, KernelArgKind.UInt64);

    /// <summary>The C type of argument <paramref name="index"/>.</summary>
    public readonly KernelArgKind KindAt(int index)
    {
        CheckIndex(index);
        return _kinds[index];
    }

    /// <summary>Size in bytes of argument <paramref name="index"/> as the kernel receives it (4 or 8).</summary>
    public readonly int SizeAt(int index) => SizeOf(KindAt(index));

    /// <summary>The raw bits of argument <paramref name="index"/>, zero-extended to 64 bits.</summary>
    public readonly ulong RawAt(int index)
    {
        CheckIndex(index);
        return _values[index];
    }

    /// <summary>Size in bytes of a value of <paramref name="kind"/>.</summary>
    public static int SizeOf(KernelArgKind kind) => kind is KernelArgKind.Int32 or KernelArgKind.Float32 ? 4 : 8;

    /// <summary>C spelling of <paramref name="kind"/> for messages.</summary>
    public static string CName(KernelArgKind kind) => kind switch
    {
        KernelArgKind.Pointer => "device pointer",
        KernelArgKind.Int32 => "int",
        KernelArgKind.Float32 => "float",
        KernelArgKind.Int64 => "long long",
        KernelArgKind.UInt64 => "unsigned long long",
        _ => $"kind {(int)kind}",
    };

    /// <summary>
    /// Copies the values into 8-byte slots at <paramref name="slots"/> (little-endian, so 4-byte values sit at
    /// the start of their slot) and the kinds into <paramref name="kinds"/>. Both buffers hold <see cref="Count"/> entries.
    /// </summary>
    public readonly unsafe void CopyTo(ulong* slots, byte* kinds)
    {
        for (int i = 0; i < _count; i++)
        {
            slots[i] = _values[i];
            kinds[i] = (byte)_kinds[i];
        }
    }

    /// <summary>Describes the arguments for error messages, e.g. "(device pointer, int, float)".</summary>
    public override readonly string ToString()
    {
        var parts = new string[_count];
        for (int i = 0; i < _count; i++) parts[i] = CName(_kinds[i]);
        return $"({string.Join(", ", parts)})";
    }

    private void Push(ulong value, KernelArgKind kind)
    {
        if (_count == MaxArguments)
            throw new InvalidOperationException($"KernelArgs holds at most {MaxArguments} arguments.");
        _values[_count] = value;
        _kinds[_count] = kind;
        _count++;
    }

    private readonly void CheckIndex(int index)
    {
        if ((uint)index >= (uint)_count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"KernelArgs holds {_count} argument(s).");
    }

    [InlineArray(MaxArguments)]
    private struct Slots
    {
        private ulong _element0;
    }

    [InlineArray(MaxArguments)]
    private struct Kinds
    {
        private KernelArgKind _element0;
    }
}

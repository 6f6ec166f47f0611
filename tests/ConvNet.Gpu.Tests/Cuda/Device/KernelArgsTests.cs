using Xunit;
using ConvNet.Gpu.Backends.Cuda;

namespace ConvNet.Gpu.Tests.Cuda.Device;

public sealed unsafe class KernelArgsTests
{
    [Fact]
    public void Records_each_argument_kind_size_and_bits_in_order()
    {
        var args = new KernelArgs();
        args.AddPointer(0xDEAD_BEEF_0000_1000UL);
        args.Add(-7);
        args.Add(1.5f);
        args.Add(-3L);
        args.Add(42UL);

        Assert.Equal(5, args.Count);
        Assert.Equal([KernelArgKind.Pointer, KernelArgKind.Int32, KernelArgKind.Float32, KernelArgKind.Int64, KernelArgKind.UInt64],
            Enumerable.Range(0, 5).Select(args.KindAt));
        Assert.Equal([8, 4, 4, 8, 8], Enumerable.Range(0, 5).Select(args.SizeAt));
        Assert.Equal(0xDEAD_BEEF_0000_1000UL, args.RawAt(0));
        Assert.Equal(0xFFFF_FFF9UL, args.RawAt(1)); // int -7 zero-extended: the kernel reads the low 4 bytes
        Assert.Equal(0x3FC0_0000UL, args.RawAt(2)); // IEEE-754 bits of 1.5f
        Assert.Equal(ulong.MaxValue - 2, args.RawAt(3));
        Assert.Equal(42UL, args.RawAt(4));
        Assert.Equal("(device pointer, int, float, long long, unsigned long long)", args.ToString());
    }

    [Fact]
    public void CopyTo_writes_little_endian_slots_whose_first_bytes_are_the_4_byte_values()
    {
        var args = new KernelArgs();
        args.Add(123456);
        args.Add(-2.25f);
        ulong* slots = stackalloc ulong[KernelArgs.MaxArguments];
        byte* kinds = stackalloc byte[KernelArgs.MaxArguments];
        args.CopyTo(slots, kinds);

        Assert.Equal(123456, *(int*)&slots[0]);
        Assert.Equal(-2.25f, *(float*)&slots[1]);
        Assert.Equal((byte)KernelArgKind.Int32, kinds[0]);
        Assert.Equal((byte)KernelArgKind.Float32, kinds[1]);
    }

    [Fact]
    public void Holds_at_most_24_arguments_and_rejects_bad_indices()
    {
        var args = new KernelArgs();
        for (int i = 0; i < KernelArgs.MaxArguments; i++) args.Add(i);
        Assert.Equal(23UL, args.RawAt(23));
        Assert.Throws<InvalidOperationException>(() => { var copy = args; copy.Add(1); });
        Assert.Throws<ArgumentOutOfRangeException>(() => new KernelArgs().KindAt(0));
    }
}

using ConvNet.Gpu.Backends.Cuda.Kernels;
using Xunit;

namespace ConvNet.Gpu.Tests.Cuda.Kernels;

/// <summary>
/// The multiply-high division of kernels/cn_fastdiv.cuh against the hardware division: every divisor up to 4,096 with
/// dividends at every multiple boundary (q*d - 1, q*d, q*d + 1) across the whole 31-bit range, plus powers of two,
/// their neighbours and random large divisors with random and extreme dividends.
/// </summary>
public sealed class FastDivisorTests
{
    private static void Check(int d)
    {
        ulong magic = FastDivisor.Magic(d);
        void One(long n)
        {
            if (n < 0 || n > int.MaxValue) return;
            int q = FastDivisor.Divide((int)n, magic);
            if (q != n / d) Assert.Fail($"{n} / {d}: fast division gave {q}, expected {n / d} (magic 0x{magic:X})");
        }
        One(0);
        One(int.MaxValue);
        One(int.MaxValue - 1);
        // Boundaries around multiples of d, spread over the range (the error term is largest for large n).
        for (long q = 1; q * d <= int.MaxValue + 1L; q = q < 64 ? q + 1 : q * 3 / 2 + 1)
        {
            One(q * d - 1); One(q * d); One(q * d + 1);
        }
        long top = int.MaxValue / d * (long)d;
        One(top - 1); One(top); One(top + d - 1);
    }

    [Fact]
    public void Every_divisor_up_to_4096_divides_exactly_at_multiple_boundaries()
    {
        for (int d = 1; d <= 4096; d++) Check(d);
    }

    [Fact]
    public void Powers_of_two_their_neighbours_and_random_large_divisors_divide_exactly()
    {
        for (int k = 1; k < 31; k++)
            foreach (int d in new[] { (1 << k) - 1, 1 << k, (1 << k) + 1 })
                if (d >= 1) Check(d);
        var rng = new Random(12);
        for (int i = 0; i < 2000; i++)
        {
            int d = rng.Next(1, int.MaxValue);
            Check(d);
            ulong magic = FastDivisor.Magic(d);
            for (int j = 0; j < 50; j++)
            {
                int n = rng.Next(0, int.MaxValue);
                Assert.Equal(n / d, FastDivisor.Divide(n, magic));
            }
        }
    }

    [Fact]
    public void Divisors_below_one_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => FastDivisor.Magic(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => FastDivisor.Magic(-3));
    }
}

using System.Globalization;
using ConvNet.Gpu.Backends.Cuda;
using Spectre.Console;

namespace ConvNet.Gpu.Cli.Diagnostics;

/// <summary>
/// <c>convnet bench --algorithms</c>: per convolution shape and pass, every algorithm that can run it on this device timed
/// (<see cref="CudaBackend.TimeConvAlgorithms"/>: CUDA events on a GPU, the host clock on the emulated device), with the
/// algorithm the backend picks and why (<see cref="CudaBackend.ConvAlgorithmFor"/>: autotuned on a GPU, the fixed cost
/// order on the emulated device).
/// </summary>
internal static class ConvAlgorithmTable
{
    /// <summary>The shapes: LeNet-5's and a VGG block's 3x3 (implicit GEMM vs im2col), a depthwise 3x3 and a 1x1.</summary>
    public static IReadOnlyList<(string Label, Conv2dGeometry Geometry)> Shapes(int batch) =>
    [
        ($"lenet-c3 {batch}x6x14x14 K16 5x5", Conv2dSpec.Square(5).Resolve(TensorShape.Nchw(batch, 6, 14, 14), 16)),
        ($"vgg {batch}x32x28x28 K64 3x3 p1", Conv2dSpec.Square(3, padding: 1).Resolve(TensorShape.Nchw(batch, 32, 28, 28), 64)),
        ($"depthwise {batch}x64x28x28 3x3 p1", Conv2dSpec.Square(3, padding: 1, groups: 64).Resolve(TensorShape.Nchw(batch, 64, 28, 28), 64)),
        ($"pointwise {batch}x128x14x14 K64 1x1", Conv2dSpec.Square(1).Resolve(TensorShape.Nchw(batch, 128, 14, 14), 64)),
    ];

    /// <summary>Short column headers (the table must fit 132 columns).</summary>
    private static string Header(ConvAlgorithm a) => a switch
    {
        ConvAlgorithm.Im2ColGemm => "im2col ms",
        ConvAlgorithm.ImplicitGemmFp32 => "igemm FP32 ms",
        ConvAlgorithm.ImplicitGemmTf32 => "igemm TF32 ms",
        ConvAlgorithm.Depthwise => "depthwise ms",
        _ => "1x1 GEMM ms",
    };

    /// <summary>
    /// The table for <paramref name="cuda"/> at <paramref name="batch"/>, and why each choice was made (one line per
    /// distinct reason, with the rows it applies to).
    /// </summary>
    public static (Table Table, IReadOnlyList<string> Reasons) Build(CudaBackend cuda, int batch, int runs, CancellationToken cancellationToken)
    {
        var algorithms = Enum.GetValues<ConvAlgorithm>();
        var table = new Table().Border(TableBorder.Rounded).AddColumn("pass").AddColumn("shape");
        foreach (var a in algorithms) table.AddColumn(new TableColumn(Header(a)).RightAligned());
        table.AddColumn("chosen");
        var reasons = new List<(string Reason, List<string> Rows)>();
        foreach (var (label, g) in Shapes(batch))
        {
            foreach (var pass in new[] { ConvPass.Forward, ConvPass.BackwardData, ConvPass.BackwardWeights })
            {
                cancellationToken.ThrowIfCancellationRequested();
                var timings = cuda.TimeConvAlgorithms(pass, g, runs);
                var choice = cuda.ConvAlgorithmFor(pass, g);
                var cells = new List<string> { pass.ToString(), Markup.Escape(label) };
                foreach (var a in algorithms)
                    cells.Add(timings.TryGetValue(a, out double ms) ? ms.ToString("0.000", CultureInfo.InvariantCulture) : "-");
                cells.Add(choice.Algorithm.ToString());
                table.AddRow(cells.ToArray());
                string row = $"{label.Split(' ')[0]} {pass}";
                if (reasons.Find(r => r.Reason == choice.Reason) is { Reason: not null } known) known.Rows.Add(row);
                else reasons.Add((choice.Reason, [row]));
            }
        }
        return (table, reasons.Select(r => reasons.Count == 1 ? $"why: {r.Reason}" : $"why ({string.Join(", ", r.Rows)}): {r.Reason}").ToList());
    }
}

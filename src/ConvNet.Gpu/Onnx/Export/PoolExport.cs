using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx.Protos;
using static ConvNet.Gpu.Onnx.Export.OnnxGraphWriter;

namespace ConvNet.Gpu.Onnx.Export;

/// <summary>
/// MaxPool2D and AvgPool2D as ONNX MaxPool and AveragePool, window for window.
/// <para>
/// Our pooling follows PyTorch: in ceil mode a last window that would start inside the right padding is dropped,
/// and with count_include_pad a window is divided by its size clipped to the padded input (never counting the part
/// of a ceil-mode window that runs past it). ONNX's ceil_mode output size, ceil((x + 2p - k) / s) + 1, lacks the
/// first rule, and the spec does not say what the second part counts. So per axis, with our output size o, the
/// last window starts at (o - 1) s - p and runs past the padded input by
/// overhang = max(0, (o - 1) s - p + k - (x + p)) (always less than k, since that window starts inside the input):
/// </para>
/// <list type="bullet">
/// <item>no overhang on either axis: the windows are those of ceil_mode 0 with pads p; written so;</item>
/// <item>ONNX's ceil size equals ours on both axes and nothing past the padded input is counted (max pooling, or
/// count_include_pad 0): ceil_mode 1 with pads p;</item>
/// <item>otherwise ceil_mode 0 with end pads p + overhang, which gives exactly our windows; the extra end padding
/// must not be counted, so count_include_pad becomes 0, and when our count includes the real padding p a Pad node
/// first writes those zeros as data (then counted as elements, as ours are).</item>
/// </list>
/// </summary>
internal static class PoolExport
{
    public static string Pool(PoolingLayer layer, string path, string input, OnnxGraphWriter w)
    {
        var s = layer.Spec;
        bool max = layer is MaxPool2D;
        var g = s.Resolve(Shapes.Batch(layer.InputShape, 1));
        int overH = Overhang(g.H, s.KernelH, s.StrideH, s.PadH, g.OH), overW = Overhang(g.W, s.KernelW, s.StrideW, s.PadW, g.OW);
        bool countPad = !max && s.CountIncludePadding;
        string op = max ? "MaxPool" : "AveragePool";
        var common = new List<AttributeProto> { Ints("kernel_shape", s.KernelH, s.KernelW), Ints("strides", s.StrideH, s.StrideW) };

        if (overH == 0 && overW == 0)
            return w.Node(op, path, [input], [.. common, Ints("pads", s.PadH, s.PadW, s.PadH, s.PadW), Int("ceil_mode", 0), .. CountPad(max, countPad)]);

        bool onnxCeilAgrees = OnnxCeilSize(g.H, s.KernelH, s.StrideH, s.PadH) == g.OH && OnnxCeilSize(g.W, s.KernelW, s.StrideW, s.PadW) == g.OW;
        if (onnxCeilAgrees && !countPad)
            return w.Node(op, path, [input], [.. common, Ints("pads", s.PadH, s.PadW, s.PadH, s.PadW), Int("ceil_mode", 1), .. CountPad(max, false)]);

        if (countPad && (s.PadH > 0 || s.PadW > 0))
        {
            string pads = w.Int64Constant(path + ".pads", [0, 0, s.PadH, s.PadW, 0, 0, s.PadH, s.PadW]);
            string padded = w.Node("Pad", path + "/pad", [input, pads], String("mode", "constant"));
            return w.Node(op, path, [padded], [.. common, Ints("pads", 0, 0, overH, overW), Int("ceil_mode", 0), .. CountPad(max, false)]);
        }
        return w.Node(op, path, [input], [.. common, Ints("pads", s.PadH, s.PadW, s.PadH + overH, s.PadW + overW), Int("ceil_mode", 0), .. CountPad(max, false)]);
    }

    private static AttributeProto[] CountPad(bool max, bool count) => max ? [] : [Int("count_include_pad", count ? 1 : 0)];

    // How far the last of our o windows runs past the padded input [-p, x + p).
    internal static int Overhang(int x, int k, int s, int p, int o) => Math.Max(0, (o - 1) * s - p + k - (x + p));

    // ONNX's ceil-mode output size: ceil((x + 2p - k) / s) + 1.
    private static int OnnxCeilSize(int x, int k, int s, int p) => (x + 2 * p - k + s - 1) / s + 1;
}

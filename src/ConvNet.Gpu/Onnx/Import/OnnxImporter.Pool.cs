using ConvNet.Gpu.Nn;

namespace ConvNet.Gpu.Onnx.Import;

/// <summary>Pooling and Resize: the ops whose ONNX attributes map onto our specifications only under conditions.</summary>
internal sealed partial class OnnxImporter
{
    // MaxPool and AveragePool. ONNX's windows start at i * s - begin and the output size is
    // floor-or-ceil((x + begin + end - k) / s) + 1. Ours start at i * s - p and our size is PyTorch's, so we take
    // p = begin and the ceil mode that gives ONNX's size. The windows are then the same; what a window averages must
    // be the same too: max pooling ignores padding, count_include_pad = 0 counts only real elements in both, and
    // count_include_pad = 1 counts the window clipped to [-begin, x + end) in ONNX and to [-p, x + p) in ours, equal
    // when begin = end or no window reaches past x + begin. A zero Pad node before an AveragePool that does not count
    // padding (how we export PyTorch's ceil-mode count_include_pad) is our count_include_pad over the padded input.
    private void Pool(OnnxNode node)
    {
        bool max = node.Op == "MaxPool";
        Act x;
        long[] padded = new long[4];
        if (Resolve(node, 0) is Padded p)
        {
            if (max) throw node.Unsupported(null, $"reads the output of Pad node '{p.PadNode}': zero padding before a MaxPool changes its result; our max pooling ignores padding.");
            x = p.Source;
            padded = p.Pads;
        }
        else
        {
            x = Activation(node, 0, 4);
        }
        var kernel = Kernel(node, null);
        var strides = Pair(node, "strides", 1);
        var dilations = Pair(node, "dilations", 1);
        if (dilations.Any(d => d != 1)) throw node.Unsupported("dilations", $"dilated pooling (dilations [{string.Join(", ", dilations)}]) is not supported.");
        if (max && node.Int("storage_order", 0) != 0) throw node.Unsupported("storage_order", "storage_order = 1 (column-major indices) is not supported.");
        bool ceil = node.Int("ceil_mode", 0) != 0;
        bool countPad = !max && node.Int("count_include_pad", 0) != 0;
        var pads = Pads(node, x, kernel, strides, [1, 1]);
        bool fromPadNode = padded.Any(v => v != 0);
        if (fromPadNode)
        {
            if (padded[0] != padded[2] || padded[1] != padded[3])
                throw node.Unsupported(null, $"reads Pad node output with pads [{string.Join(", ", padded)}]; only the same padding on both sides of each axis can become our count_include_pad.");
            if (pads[0] != 0 || pads[1] != 0)
                throw node.Unsupported("pads", "an AveragePool after a Pad node must not pad the start of its input as well.");
        }

        var size = new long[2];
        var ours = new int[2];
        for (int axis = 0; axis < 2; axis++)
        {
            long begin = pads[axis] + padded[axis], end = pads[axis + 2] + padded[axis + 2];
            if (end < begin) throw node.Unsupported("pads", $"pads [{string.Join(", ", pads)}] pad the start of an axis more than its end; our pooling cannot.");
            long span = x.Dims[2 + axis] + begin + end - kernel[axis];
            if (span < 0) throw node.Malformed($"the kernel {kernel[axis]} is larger than the padded input {x.Dims[2 + axis] + begin + end}.");
            size[axis] = (ceil ? (span + strides[axis] - 1) / strides[axis] : span / strides[axis]) + 1;
            ours[axis] = (int)begin;
        }
        Pool2dSpec? spec = null;
        foreach (bool ourCeil in new[] { false, true })
        {
            var candidate = new Pool2dSpec((int)kernel[0], (int)kernel[1], (int)strides[0], (int)strides[1], ours[0], ours[1], ourCeil,
                countIncludePadding: countPad || fromPadNode);
            var g = candidate.Resolve(TensorShape.Nchw(1, (int)x.Dims[1], (int)x.Dims[2], (int)x.Dims[3]));
            if (g.OH == size[0] && g.OW == size[1]) { spec = candidate; break; }
        }
        if (spec is null)
            throw node.Unsupported(ceil ? "ceil_mode" : "pads",
                $"the output size ({size[0]} x {size[1]}) of these windows has no equivalent in our pooling (PyTorch semantics: a ceil-mode window may not start in the end padding).");
        if (countPad)
        {
            // ONNX counts up to x + end, ours up to x + begin: equal unless a window reaches past x + begin.
            for (int axis = 0; axis < 2; axis++)
            {
                long begin = pads[axis] + padded[axis], end = pads[axis + 2] + padded[axis + 2];
                long lastEnd = (size[axis] - 1) * strides[axis] - begin + kernel[axis];
                if (end != begin && lastEnd > x.Dims[2 + axis] + begin)
                    throw node.Unsupported("count_include_pad", $"with asymmetric pads [{string.Join(", ", pads)}], count_include_pad = 1 counts end padding our pooling does not.");
            }
        }
        AddLayer(node, x, max ? new MaxPool2D(spec) : new AvgPool2D(spec), []);
    }

    // Resize with mode nearest and integer factors: our Upsample2D reads input floor(y / s). Any coordinate transform
    // and rounding that gives that same index for every output position of this input size is accepted (checked
    // position by position with the spec's formulas, in double precision).
    private void Resize(OnnxNode node)
    {
        var x = Activation(node, 0, 4);
        string mode = node.String("mode", "nearest");
        if (mode != "nearest") throw node.Unsupported("mode", $"Resize mode '{mode}' is not supported; only nearest (our Upsample2D) is.");
        string transform = node.String("coordinate_transformation_mode", "half_pixel");
        string rounding = node.String("nearest_mode", "round_prefer_floor");
        node.Ignore("cubic_coeff_a");       // cubic mode only
        node.Ignore("extrapolation_value"); // tf_crop_and_resize only, rejected below
        if (node.Int("exclude_outside", 0) != 0) throw node.Unsupported("exclude_outside", "exclude_outside = 1 is not supported.");
        node.Ignore("antialias");           // no effect on nearest upsampling
        string policy = node.String("keep_aspect_ratio_policy", "stretch");
        if (node.Ints("axes") is { } axes && !axes.Select(a => a < 0 ? a + 4 : a).SequenceEqual([2L, 3L]))
            throw node.Unsupported("axes", $"axes [{string.Join(", ", axes)}] are not supported; only height and width ([2, 3]) are.");

        long[] outSize;
        var scalesInput = node.InputCount > 2 && node.Input(2).Length > 0 ? Constant(node, 2, "scales") : null;
        var sizesInput = node.InputCount > 3 && node.Input(3).Length > 0 ? Constant(node, 3, "sizes") : null;
        if (scalesInput is { Count: > 0 } scales)
        {
            var s = Floats(node, scales, "scales");
            if (s.Length == 2) s = [1f, 1f, s[0], s[1]];
            if (s.Length != 4 || s[0] != 1f || s[1] != 1f)
                throw node.Unsupported("scales", $"scales [{string.Join(", ", s)}] are not supported; batch and channels must keep scale 1.");
            outSize = [x.Dims[2] * (long)s[2], x.Dims[3] * (long)s[3]];
            if (s[2] != MathF.Floor(s[2]) || s[3] != MathF.Floor(s[3]) || s[2] < 1 || s[3] < 1)
                throw node.Unsupported("scales", $"scales [{string.Join(", ", s)}] are not supported; only integer upsampling factors are.");
        }
        else if (sizesInput is { } sizes)
        {
            var v = sizes.Ints ?? throw node.Malformed("sizes must be int64.");
            if (v.Length == 2) v = [x.Dims[0], x.Dims[1], v[0], v[1]];
            if (v.Length != 4 || v[1] != x.Dims[1] || v[2] % x.Dims[2] != 0 || v[3] % x.Dims[3] != 0 || policy != "stretch")
                throw node.Unsupported("sizes", $"sizes [{string.Join(", ", v)}] are not supported; only integer multiples of the height and width ({x.Dims[2]} x {x.Dims[3]}) are.");
            outSize = [v[2], v[3]];
        }
        else
        {
            throw node.Malformed("neither scales nor sizes is given.");
        }
        if (policy != "stretch" && sizesInput is not null) throw node.Unsupported("keep_aspect_ratio_policy", $"keep_aspect_ratio_policy '{policy}' is not supported.");
        var roi = node.InputCount > 1 && node.Input(1).Length > 0 ? Constant(node, 1, "roi") : null;
        if (transform == "tf_crop_and_resize") throw node.Unsupported("coordinate_transformation_mode", "tf_crop_and_resize is not supported.");
        _ = roi; // only used by tf_crop_and_resize

        int sh = (int)(outSize[0] / x.Dims[2]), sw = (int)(outSize[1] / x.Dims[3]);
        for (int axis = 0; axis < 2; axis++)
        {
            long input = x.Dims[2 + axis], output = outSize[axis], scale = output / input;
            for (long y = 0; y < output; y++)
            {
                long index = Nearest(node, transform, rounding, y, input, output, scale);
                if (index != y / scale)
                    throw node.Unsupported("coordinate_transformation_mode",
                        $"coordinate_transformation_mode '{transform}' with nearest_mode '{rounding}' maps output {y} to input {index} (factor {scale}, size {input}); " +
                        $"our nearest upsampling reads input {y / scale}. Export with coordinate_transformation_mode 'asymmetric' and nearest_mode 'floor' (PyTorch does).");
            }
        }
        AddLayer(node, x, new Upsample2D(sh, sw), []);
    }

    // The input index ONNX's Resize reads for output position y (Resize spec: coordinate transform, then rounding, then clamping).
    private static long Nearest(OnnxNode node, string transform, string rounding, long y, long input, long output, long scale)
    {
        double s = scale;
        double original = transform switch
        {
            "half_pixel" => (y + 0.5) / s - 0.5,
            "pytorch_half_pixel" => output > 1 ? (y + 0.5) / s - 0.5 : 0,
            "align_corners" => output == 1 ? 0 : y * (double)(input - 1) / (output - 1),
            "asymmetric" => y / s,
            "tf_half_pixel_for_nn" => (y + 0.5) / s,
            _ => throw node.Unsupported("coordinate_transformation_mode", $"coordinate_transformation_mode '{transform}' is not supported."),
        };
        double fraction = original - Math.Floor(original);
        long index = rounding switch
        {
            "round_prefer_floor" => fraction == 0.5 ? (long)Math.Floor(original) : (long)Math.Round(original, MidpointRounding.AwayFromZero),
            "round_prefer_ceil" => fraction == 0.5 ? (long)Math.Ceiling(original) : (long)Math.Round(original, MidpointRounding.AwayFromZero),
            "floor" => (long)Math.Floor(original),
            "ceil" => (long)Math.Ceiling(original),
            _ => throw node.Unsupported("nearest_mode", $"nearest_mode '{rounding}' is not supported."),
        };
        return Math.Clamp(index, 0, input - 1);
    }
}

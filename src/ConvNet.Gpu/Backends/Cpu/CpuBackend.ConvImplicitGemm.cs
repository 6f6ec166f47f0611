using ConvNet.Gpu.Backends.Cpu.Conv;

namespace ConvNet.Gpu.Backends.Cpu;

// The implicit-GEMM convolutions (ImplicitGemmConv) wired to the backend: filter packing, per-worker band buffers and
// the schedules. Chosen by ChooseConvAlgorithm (CpuConvAlgorithm.ImplicitGemm).
public sealed unsafe partial class CpuBackend
{
    /// <summary>
    /// Forward: filters packed once per call (slot 0's WeightPartial lane), then (sample, band of output rows) units
    /// pulled by the workers, each with its own band buffer (Columns lane of its slot).
    /// </summary>
    private void ImplicitGemmForward(float* x, float* w, float* b, float* y, Conv2dGeometry g)
    {
        float* packed = Workspace.Get(0, WorkspaceLane.WeightPartial, ImplicitGemmConv.PackedFilterFloats(g));
        ImplicitGemmConv.PackFilters(w, b, g, packed);
        int bands = ImplicitGemmConv.Bands(g), units = g.N * bands, workers = Math.Min(Threads, units);
        Workspace.EnsureSlots(workers);
        long bufferFloats = ImplicitGemmConv.BandBufferFloats(g), inStride = (long)g.C * g.InputPlane, outStride = (long)g.K * g.OutputPlane;
        var workspace = Workspace;
        ChunkedSum.Run(Workers, workers, units, (slot, unit) =>
            ImplicitGemmConv.ForwardBand(x + unit / bands * inStride, packed, y + unit / bands * outStride, g, unit % bands,
                workspace.Get(slot, WorkspaceLane.Columns, bufferFloats)));
    }

    /// <summary>
    /// Weight gradient: fixed chunks of samples (as the other weight gradients) each summed into their own partial
    /// (taps x 32 per panel), partials added in chunk order, then transposed into dW.
    /// </summary>
    private void ImplicitGemmBackwardWeights(float* x, float* dy, float* dw, Conv2dGeometry g, bool accumulate)
    {
        int workers = SampleWorkers(g.N), chunks = ChunkedSum.Chunks(g.N, workers);
        Workspace.EnsureSlots(Math.Max(chunks, workers));
        long partialFloats = ImplicitGemmConv.PartialFloats(g), scratchFloats = ImplicitGemmConv.WeightScratchFloats(g);
        long inStride = (long)g.C * g.InputPlane, outStride = (long)g.K * g.OutputPlane;
        var workspace = Workspace;
        ChunkedSum.Run(Workers, workers, chunks, (slot, chunk) =>
        {
            long n0 = (long)g.N * chunk / chunks, n1 = (long)g.N * (chunk + 1) / chunks;
            float* partial = workspace.Get(chunk, WorkspaceLane.WeightPartial, partialFloats);
            new Span<float>(partial, (int)partialFloats).Clear();
            float* scratch = workspace.Get(slot, WorkspaceLane.Columns, scratchFloats);
            for (long n = n0; n < n1; n++) ImplicitGemmConv.WeightsSample(x + n * inStride, dy + n * outStride, g, partial, scratch);
        });
        float* total = ChunkedSum.AddInOrder(c => (nint)workspace.Get(c, WorkspaceLane.WeightPartial, partialFloats), chunks, partialFloats);
        // dW[k, t] (+)= total[(q*taps + t)*32 + l] with k = q*32 + l.
        int taps = ImplicitGemmConv.Taps(g);
        for (int k = 0; k < g.K; k++)
        {
            float* src = total + (long)(k / ImplicitGemmKernels.Panel) * taps * ImplicitGemmKernels.Panel + k % ImplicitGemmKernels.Panel;
            float* dst = dw + (long)k * taps;
            for (int t = 0; t < taps; t++)
            {
                float v = src[(long)t * ImplicitGemmKernels.Panel];
                dst[t] = accumulate ? dst[t] + v : v;
            }
        }
    }
}

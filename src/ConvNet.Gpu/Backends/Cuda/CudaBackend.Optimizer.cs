using System.Runtime.InteropServices;
using ConvNet.Gpu.Backends.Cuda.Kernels;

namespace ConvNet.Gpu.Backends.Cuda;

// Optimizer steps (kernels/optimizer.cu): per tensor, one thread per parameter; multi-tensor, ONE launch for every
// parameter of a table, reading the learning rate, the step and the non-finite guard from device memory.
public sealed partial class CudaBackend
{
    /// <summary>Elements per chunk of a multi-tensor update (one block handles one chunk at a time).</summary>
    private const int OptimizerChunk = 4096;

    /// <inheritdoc/>
    protected override void SgdStepCore(Tensor param, Tensor grad, Tensor velocity, float learningRate, float momentum,
        float weightDecay, bool nesterov)
    {
        LaunchElements(CudaKernels.SgdStep(Ptr(param), Ptr(grad), Ptr(velocity), param.ElementCount, learningRate, momentum, weightDecay,
            nesterov ? 1 : 0), param.ElementCount);
    }

    /// <inheritdoc/>
    protected override void AdamStepCore(Tensor param, Tensor grad, Tensor m, Tensor v, float learningRate, float beta1,
        float beta2, float epsilon, float weightDecay, bool decoupledWeightDecay, int step)
    {
        // Bias corrections 1 - beta^t in double on the host: float powers lose digits for large t.
        float biasCorrection1 = (float)(1.0 - Math.Pow(beta1, step));
        float biasCorrection2 = (float)(1.0 - Math.Pow(beta2, step));
        LaunchElements(CudaKernels.AdamStep(Ptr(param), Ptr(grad), Ptr(m), Ptr(v), param.ElementCount, learningRate, beta1, beta2,
            epsilon, weightDecay, decoupledWeightDecay ? 1 : 0, biasCorrection1, biasCorrection2), param.ElementCount);
    }

    /// <inheritdoc/>
    protected override ParameterTable CreateParameterTableCore(IReadOnlyList<IReadOnlyList<Tensor>> rows)
    {
        ThrowIfCapturing("creating a parameter table");
        // 6 long longs per row: param, grad, state 0, state 1 (0 when absent), element count, first chunk.
        var words = new long[6 * rows.Count];
        long chunks = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            long n = row[0].ElementCount;
            words[6 * i] = (long)Ptr(row[0]);
            words[6 * i + 1] = (long)Ptr(row[1]);
            words[6 * i + 2] = (long)Ptr(row[2]);
            words[6 * i + 3] = row.Count > 3 ? (long)Ptr(row[3]) : 0;
            words[6 * i + 4] = n;
            words[6 * i + 5] = chunks;
            chunks += (n + OptimizerChunk - 1) / OptimizerChunk;
        }
        var table = Allocate(TensorShape.Vector(2 * words.Length), DataType.Int32);
        Upload(table, MemoryMarshal.Cast<long, int>(words.AsSpan()));
        return new CudaParameterTable(this, rows, table, chunks);
    }

    /// <inheritdoc/>
    protected override void SgdStepCore(ParameterTable table, Tensor stepScalars, float momentum, float weightDecay, bool nesterov,
        Tensor? guard, bool skipNonFinite)
    {
        var t = (CudaParameterTable)table;
        LaunchItems(CudaKernels.SgdMulti(Ptr(t.Table), t.Rows.Count, t.Chunks, OptimizerChunk, Ptr(stepScalars),
            guard is null ? 0 : Ptr(guard), momentum, weightDecay, nesterov ? 1 : 0, skipNonFinite ? 1 : 0), t.Chunks);
    }

    /// <inheritdoc/>
    protected override void AdamStepCore(ParameterTable table, Tensor stepScalars, float beta1, float beta2, float epsilon,
        float weightDecay, bool decoupledWeightDecay, Tensor? guard, bool skipNonFinite)
    {
        var t = (CudaParameterTable)table;
        LaunchItems(CudaKernels.AdamMulti(Ptr(t.Table), t.Rows.Count, t.Chunks, OptimizerChunk, Ptr(stepScalars),
            guard is null ? 0 : Ptr(guard), beta1, beta2, epsilon, weightDecay, decoupledWeightDecay ? 1 : 0, skipNonFinite ? 1 : 0), t.Chunks);
    }

    /// <summary>A parameter table with its device copy: 6 long longs per row (see kernels/optimizer.cu) and the chunk count.</summary>
    private sealed class CudaParameterTable(IBackend backend, IReadOnlyList<IReadOnlyList<Tensor>> rows, Tensor table, long chunks)
        : ParameterTable(backend, rows)
    {
        public Tensor Table => table;

        public long Chunks => chunks;

        protected override void Dispose(bool disposing) => table.Dispose();
    }
}

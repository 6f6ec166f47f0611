using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Onnx.Import;

namespace ConvNet.Gpu.Tests.Onnx;

/// <summary>
/// Runs an <see cref="ImportedGraph"/> op by op, to check the translation against PyTorch's outputs independently of
/// the model that OnnxModel.Load builds from it: each layer is built alone and run in evaluation mode, sums go
/// through IBackend.Add, and channel concatenations are done on the host.
/// </summary>
public static class ImportedGraphRunner
{
    internal static float[] Run(ImportedGraph graph, IBackend backend, float[] input, int batch)
    {
        var values = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var owned = new List<IDisposable>();
        try
        {
            var x = backend.Allocate(Shapes.Batch(graph.Inputs.Single().Sample, batch));
            x.Upload(input);
            owned.Add(x);
            values[graph.Inputs[0].Value] = x;
            foreach (var op in graph.Ops)
            {
                var output = backend.Allocate(Shapes.Batch(op.OutputSample, batch));
                owned.Add(output);
                switch (op)
                {
                    case LayerOp l:
                        var input0 = values[l.Input];
                        l.Layer.Build(backend, Shapes.Sample(input0.Shape), 1);
                        owned.Add(l.Layer);
                        l.LoadWeights(graph.Source);
                        output.Upload(l.Layer.Forward(input0, training: false).ToArray());
                        break;
                    case AddOp a:
                        backend.Add(values[a.Inputs[0]], values[a.Inputs[1]], output);
                        break;
                    case ConcatOp c:
                        var parts = c.Inputs.Select(i => values[i].ToArray()).ToList();
                        var joined = new List<float>();
                        for (int n = 0; n < batch; n++)
                            foreach (var p in parts)
                            {
                                int per = p.Length / batch;
                                joined.AddRange(p.AsSpan(n * per, per).ToArray());
                            }
                        output.Upload(joined.ToArray());
                        break;
                }
                values[op.Output] = output;
            }
            return values[graph.Outputs.Single()].ToArray();
        }
        finally
        {
            foreach (var d in owned) d.Dispose();
        }
    }
}

using ConvNet.Gpu.Tests.Infrastructure;
using ConvNet.Gpu.Tests.Reference;
using Xunit;

namespace ConvNet.Gpu.Tests.Ops;

/// <summary>Batch normalization (training forward with running statistics, inference, backward) against <see cref="BatchNormReference"/>.</summary>
public abstract class BatchNormOpsSuite(BackendUnderTest backend) : BackendSuite(backend)
{
    /// <summary>Shapes; the last two have channels of 1,440 and 4,800 elements, so the CUDA backend's split reduction uses several chunks per channel.</summary>
    public static TheoryData<int[]> Shapes => new([4, 3, 5, 6], [2, 5, 1, 1], [8, 6], [1, 2, 3, 7], [3, 4, 9], [6, 3, 16, 15], [3, 2, 40, 40]);

    private (float[] X, float[] Gamma, float[] Beta, float[] RunMean, float[] RunVar) Data(TensorShape s, int c) =>
        (Array.ConvertAll(Rng.Uniform(s.ElementCount, -2f, 2f), v => v + 0.5f), Rng.Uniform(c, 0.5f, 1.5f), Rng.Uniform(c),
         Rng.Uniform(c), Rng.Uniform(c, 0.5f, 2f));

    [Theory, MemberData(nameof(Shapes))]
    public void TrainingForwardNormalizesAndUpdatesRunningStatistics(int[] dims)
    {
        var s = TensorShape.Of(dims);
        int n = dims[0], c = dims[1], rest = (int)s.ElementsFrom(2);
        var (x, gamma, beta, rm, rv) = Data(s, c);
        const float momentum = 0.1f, eps = 1e-5f;
        var e = BatchNormReference.ForwardTraining(D(x), D(gamma), D(beta), D(rm), D(rv), n, c, rest, momentum, eps);
        var cv = TensorShape.Vector(c);
        Verify($"BatchNorm2dForwardTraining {s}", (b, r) =>
        {
            var y = Out(b, s); var mean = Out(b, cv); var inv = Out(b, cv);
            var rmi = In(b, rm, cv); var rvi = In(b, rv, cv);
            b.BatchNorm2dForwardTraining(In(b, x, s), In(b, gamma, cv), In(b, beta, cv), y, mean, inv, rmi, rvi, momentum, eps);
            r.Add("y", y, OpKind.Pointwise).Add("saveMean", mean, OpKind.Pointwise).Add("saveInvStd", inv, OpKind.Pointwise)
             .Add("runningMean", rmi, OpKind.Pointwise).Add("runningVar", rvi, OpKind.Pointwise);
        }, Expect(("y", e.Y), ("saveMean", e.Mean), ("saveInvStd", e.InvStd), ("runningMean", e.RunningMean), ("runningVar", e.RunningVar)));
    }

    [Theory, MemberData(nameof(Shapes))]
    public void InferenceUsesRunningStatistics(int[] dims)
    {
        var s = TensorShape.Of(dims);
        int n = dims[0], c = dims[1], rest = (int)s.ElementsFrom(2);
        var (x, gamma, beta, rm, rv) = Data(s, c);
        var cv = TensorShape.Vector(c);
        Verify($"BatchNorm2dForwardInference {s}", (b, r) =>
        {
            var y = Out(b, s);
            b.BatchNorm2dForwardInference(In(b, x, s), In(b, gamma, cv), In(b, beta, cv), In(b, rm, cv), In(b, rv, cv), 1e-3f, y);
            r.Add("y", y, OpKind.Pointwise);
        }, Expect(("y", BatchNormReference.ForwardInference(D(x), D(gamma), D(beta), D(rm), D(rv), n, c, rest, 1e-3))));
    }

    [Theory, MemberData(nameof(Shapes))]
    public void BackwardMatchesReferenceAndAccumulatesParameterGradients(int[] dims)
    {
        var s = TensorShape.Of(dims);
        int n = dims[0], c = dims[1], rest = (int)s.ElementsFrom(2);
        var (x, gamma, _, _, _) = Data(s, c);
        var dy = Rng.Uniform(s.ElementCount);
        var dgPrior = Rng.Uniform(c);
        var dbPrior = Rng.Uniform(c);
        // saveMean / saveInvStd as the forward would produce them, rounded to float32 like the backend's.
        var stats = BatchNormReference.ForwardTraining(D(x), D(gamma), new double[c], new double[c], new double[c], n, c, rest, 0.1, 1e-5);
        var mean = Array.ConvertAll(stats.Mean, v => (float)v);
        var inv = Array.ConvertAll(stats.InvStd, v => (float)v);
        var (dx, dg, db) = BatchNormReference.Backward(D(x), D(dy), D(gamma), D(mean), D(inv), n, c, rest);
        var cv = TensorShape.Vector(c);
        Verify($"BatchNorm2dBackward {s}", (b, r) =>
        {
            var xi = In(b, x, s); var dyi = In(b, dy, s); var gi = In(b, gamma, cv); var mi = In(b, mean, cv); var ii = In(b, inv, cv);
            var dxo = Out(b, s); var dgo = Out(b, cv); var dbo = Out(b, cv);
            b.BatchNorm2dBackward(xi, dyi, gi, mi, ii, dxo, dgo, dbo, accumulate: false);
            var dx2 = Out(b, s); var dga = In(b, dgPrior, cv); var dba = In(b, dbPrior, cv);
            b.BatchNorm2dBackward(xi, dyi, gi, mi, ii, dx2, dga, dba, accumulate: true);
            r.Add("dx", dxo, OpKind.Pointwise).Add("dgamma", dgo, OpKind.Pointwise).Add("dbeta", dbo, OpKind.Pointwise)
             .Add("dx (accumulate call)", dx2, OpKind.Pointwise).Add("dgamma accumulated", dga, OpKind.Pointwise).Add("dbeta accumulated", dba, OpKind.Pointwise);
        }, Expect(("dx", dx), ("dgamma", dg), ("dbeta", db), ("dx (accumulate call)", dx),
            ("dgamma accumulated", dg.Select((v, i) => v + dgPrior[i]).ToArray()), ("dbeta accumulated", db.Select((v, i) => v + dbPrior[i]).ToArray())));
    }

    [Fact]
    public void BatchNormIsDeterministic()
    {
        var s = TensorShape.Nchw(8, 6, 9, 7);
        var (x, gamma, beta, rm, rv) = Data(s, 6);
        var dy = Rng.Uniform(s.ElementCount);
        var cv = TensorShape.Vector(6);
        AssertDeterministic("batch norm", (b, r) =>
        {
            var xi = In(b, x, s); var gi = In(b, gamma, cv);
            var y = Out(b, s); var mean = Out(b, cv); var inv = Out(b, cv); var rmi = In(b, rm, cv); var rvi = In(b, rv, cv);
            b.BatchNorm2dForwardTraining(xi, gi, In(b, beta, cv), y, mean, inv, rmi, rvi, 0.1f, 1e-5f);
            var dx = Out(b, s); var dg = Out(b, cv); var db = Out(b, cv);
            b.BatchNorm2dBackward(xi, In(b, dy, s), gi, mean, inv, dx, dg, db, accumulate: false);
            r.Add("y", y, OpKind.Pointwise).Add("mean", mean, OpKind.Pointwise).Add("invstd", inv, OpKind.Pointwise)
             .Add("runningVar", rvi, OpKind.Pointwise).Add("dx", dx, OpKind.Pointwise).Add("dgamma", dg, OpKind.Pointwise);
        });
    }
}

using ConvNet.Gpu.Data;
using ConvNet.Gpu.Nn;
using ConvNet.Gpu.Optimizers;
using ConvNet.Gpu.Training;
using Xunit;

namespace ConvNet.Gpu.Tests.Training;

/// <summary>
/// Library misuse gets a clear message: training or evaluating on an empty data set (before: Fit reported Completed
/// with a NaN loss, Evaluate said "expected 0 samples ... got 0 floats"), and a tensor of another backend instance of
/// the same kind (before: "lives on backend 'CPU', not on 'CPU'").
/// </summary>
public sealed class EmptyAndForeignInputTests : IDisposable
{
    private readonly IBackend _b = Backend.Cpu(1);

    public void Dispose() => _b.Dispose();

    private Sequential Model() => new Sequential(_b, (1, 8, 8), seed: 1).Add(new Flatten(), new Dense(3));

    private static Dataset Empty() => new([], [], new TensorShape([1, 8, 8], ["C", "H", "W"]), ["a", "b", "c"], "empty set");

    [Fact]
    public void Fit_on_an_empty_data_set_is_an_argument_error()
    {
        using var model = Model();
        using var opt = new Sgd(0.1f);
        var e = Assert.Throws<ConvNetArgumentException>(() => new Trainer(model, opt).Fit(Empty(), 1, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("The training set 'empty set' is empty", e.Message);
    }

    [Fact]
    public void Evaluate_and_predict_on_nothing_say_so()
    {
        using var model = Model();
        var evaluate = Assert.Throws<ConvNetArgumentException>(() => model.Evaluate(Empty()));
        var predict = Assert.Throws<ConvNetArgumentException>(() => model.Predict([], 0));
        Assert.Contains("the labelled data is empty", evaluate.Message);
        Assert.Contains("the sample count must be at least 1, got 0", predict.Message);
    }

    [Fact]
    public void A_tensor_of_another_backend_of_the_same_kind_is_named_as_such()
    {
        using var other = Backend.Cpu(1);
        using var mine = _b.Allocate(TensorShape.Vector(4));
        using var theirs = other.Allocate(TensorShape.Vector(4));

        var e = Assert.Throws<ShapeMismatchException>(() => _b.Add(mine, theirs, mine));

        Assert.Contains($"lives on another 'CPU' backend instance (instance #{((BackendBase)other).InstanceNumber}) than the one running the op " +
            $"(instance #{((BackendBase)_b).InstanceNumber})", e.Message);
    }
}

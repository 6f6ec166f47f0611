using ConvNet.Gpu.Tests.Infrastructure;
using Xunit;

namespace ConvNet.Gpu.Tests.Gradients;

/// <summary>
/// The conv gradient check on its own, for running once per convolution algorithm (the CUDA suites force each). With
/// <paramref name="tf32"/>, the numeric side uses the reference (CPU, FP32) backend's forward, since TF32 rounding noise
/// (relative 2^-11 per operand) divided by the 2e-2 of a central difference would swamp the derivative, and the threshold
/// is PyTorch's TF32 tolerance, 1e-2.
/// </summary>
public abstract class ConvAlgorithmGradientSuite(BackendUnderTest backend, bool tf32 = false) : ConvGradientCheckBase(backend)
{
    [Theory, MemberData(nameof(ConvCases.GradientNames), MemberType = typeof(ConvCases))]
    public void Conv(string name)
    {
        if (!tf32)
        {
            CheckConvGradients(name, B, GradientCheck.Settings.ConvDense);
            return;
        }
        var numeric = Under.ReferenceBackend ?? throw new InvalidOperationException("A TF32 gradient check needs a reference backend.");
        CheckConvGradients(name, numeric, GradientCheck.Settings.ConvDense with { Threshold = 1e-2 });
    }
}

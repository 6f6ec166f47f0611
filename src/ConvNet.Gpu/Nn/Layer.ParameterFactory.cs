using ConvNet.Gpu.Initializers;
using ConvNet.Gpu.Parameters;

namespace ConvNet.Gpu.Nn;

public abstract partial class Layer
{
    /// <summary>
    /// Creates a layer's parameters and state on the backend with seeded host initialization; <c>OnBuild</c> gets one.
    /// Create them in a fixed order: checkpoints store parameters and state by layer, name and order, and each
    /// parameter's random stream is derived from the layer's seed and its position.
    /// </summary>
    protected sealed class ParameterFactory
    {
        private readonly Layer _layer;
        private readonly Layer? _shareFrom;
        private ulong _stream;
        private int _sharedParameters, _sharedState;

        internal ParameterFactory(Layer layer, IBackend backend, ulong seed, Layer? shareFrom)
        {
            _layer = layer;
            _shareFrom = shareFrom;
            Backend = backend;
            Seed = seed;
        }

        /// <summary>The backend to allocate on.</summary>
        public IBackend Backend { get; }

        /// <summary>The layer's seed (derive sub-seeds from it for nested layers).</summary>
        public ulong Seed { get; }

        /// <summary>
        /// Allocates a parameter (its gradient comes on first use), fills the value with <paramref name="initializer"/>
        /// (its own random stream derived from the layer seed and the parameter's position) and uploads it. For a
        /// replica of a shared layer it returns the original's parameter value instead, with a gradient of its own.
        /// </summary>
        /// <param name="name">The parameter's name within the layer ("weight", "bias"...), unique in the layer; checkpoints use it.</param>
        /// <param name="shape">The value's shape; the gradient has the same.</param>
        /// <param name="initializer">Fills the value: e.g. <see cref="Initializer.FanInUniform"/>, <see cref="Initializer.HeUniform"/>, <see cref="Initializer.Zeros"/>.</param>
        /// <param name="fanIn">The number of inputs feeding one output unit (in_features; in_channels/groups × kh × kw for a
        /// convolution): the scale of fan-in initializers (U(±1/sqrt(fanIn)), He). Pass the weight's fan-in for a bias too.</param>
        /// <param name="fanOut">The number of outputs one input unit feeds (out_features; out_channels/groups × kh × kw): used by
        /// Glorot/Xavier initializers, ignored by fan-in ones.</param>
        /// <param name="count">The number of trainable values the parameter counts for in summaries and
        /// <c>TrainableParameterCount</c> when that is not its element count (a masked weight counts only its connections); default the element count.</param>
        /// <param name="mask">Optional, one value per element: the initialized values are multiplied by it (0 for absent
        /// connections). It does not constrain later updates; a layer that needs them masked applies the mask itself.</param>
        public Parameter Create(string name, TensorShape shape, Initializer initializer, int fanIn, int fanOut,
            long? count = null, ReadOnlySpan<float> mask = default)
        {
            ++_stream;
            Parameter p;
            if (_shareFrom is not null)
            {
                var original = _shareFrom._parameters[_sharedParameters++];
                if (original.Name != name || !original.Shape.SameDimensions(shape))
                    throw new InvalidOperationException($"Layer '{_layer.Name}': replica parameter {name} {shape} does not match the shared {original}.");
                p = original.Share();
            }
            else
            {
                BuildGuard.Claim(isState: false, _layer, name, shape);
                var host = new float[shape.ElementCount];
                initializer.Fill(host, fanIn, fanOut, new HostRandom(HostRandom.Derive(Seed, _stream)));
                if (!mask.IsEmpty)
                    for (int i = 0; i < host.Length; i++) host[i] *= mask[i];
                var value = Persistent.Allocate(Backend, shape);
                value.Upload(host);
                p = new Parameter(name, value, count ?? shape.ElementCount);
            }
            _layer.AddParameter(p);
            return p;
        }

        /// <summary>
        /// Allocates a non-trainable state tensor filled with <paramref name="value"/>; a replica of a shared layer gets
        /// the original's tensor (so running statistics are shared).
        /// </summary>
        public StateTensor CreateState(string name, TensorShape shape, float value)
        {
            StateTensor s;
            if (_shareFrom is not null)
            {
                s = _shareFrom._state[_sharedState++];
            }
            else
            {
                BuildGuard.Claim(isState: true, _layer, name, shape);
                var t = Persistent.Allocate(Backend, shape);
                if (value != 0f) Backend.Fill(t, value);
                s = new StateTensor(name, t);
            }
            _layer.AddState(s);
            return s;
        }
    }
}

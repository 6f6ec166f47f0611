using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// A custom layer that checkpoints can rebuild: it names its type and rebuilds itself from the JSON its
/// <c>WriteConfig</c> wrote. Register it once with <see cref="LayerRegistry.Register{T}"/>; a model holding it then saves
/// and loads like any other (the architecture from the config, the parameters and state by name and order).
/// </summary>
/// <typeparam name="TSelf">The layer class itself.</typeparam>
public interface IRestorableLayer<TSelf> where TSelf : Layer, IRestorableLayer<TSelf>
{
    /// <summary>The type name in saved architectures; must equal the layer's <see cref="Layer.TypeName"/> and differ from the built-in types.</summary>
    static abstract string LayerType { get; }

    /// <summary>
    /// An unbuilt layer from its saved configuration: "type", "name", and what its <c>WriteConfig</c> wrote (read them
    /// with <see cref="LayerConfigExtensions"/>).
    /// </summary>
    static abstract TSelf FromConfig(JsonObject config);
}

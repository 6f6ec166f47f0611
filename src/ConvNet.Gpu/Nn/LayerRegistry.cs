using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Rebuilds layers from the JSON written by <see cref="Layer.GetConfig"/>, so a model can be restored from a
/// checkpoint alone. Unknown types fail with a message listing the known ones. Custom layers join with
/// <see cref="Register{T}"/> (or <see cref="Register(string, Func{JsonObject, Layer})"/>) before a checkpoint holding
/// them is loaded; registration is process-wide and thread-safe.
/// </summary>
public static class LayerRegistry
{
    private static readonly Lock Gate = new();

    private static readonly Dictionary<string, Func<JsonObject, Layer>> Factories = new(StringComparer.Ordinal)
    {
        ["Conv2D"] = Conv2D.FromConfig,
        ["ConvTranspose2D"] = ConvTranspose2D.FromConfig,
        ["MaxPool2D"] = MaxPool2D.FromConfig,
        ["AvgPool2D"] = AvgPool2D.FromConfig,
        ["GlobalAvgPool2D"] = c => new GlobalAvgPool2D(c.GetOptionalString("name")),
        ["Upsample2D"] = Upsample2D.FromConfig,
        ["Dense"] = Dense.FromConfig,
        ["Flatten"] = c => new Flatten(c.GetOptionalString("name")),
        ["Dropout"] = Dropout.FromConfig,
        ["ReLU"] = c => new ReLU(c.GetOptionalString("name")),
        ["LeakyReLU"] = c => new LeakyReLU(c.GetFloat("alpha"), c.GetOptionalString("name")),
        ["ELU"] = c => new ELU(c.GetFloat("alpha"), c.GetOptionalString("name")),
        ["Sigmoid"] = c => new Sigmoid(c.GetOptionalString("name")),
        ["Tanh"] = c => new Tanh(c.GetOptionalString("name")),
        ["Softmax"] = c => new Softmax(c.GetOptionalString("name")),
        ["BatchNorm2D"] = BatchNorm2D.FromConfig,
        ["Residual"] = Residual.FromConfig,
        ["Subsampling2D"] = Subsampling2D.FromConfig,
        ["Normalize"] = Normalize.FromConfig,
        ["Add"] = c => new Add(c.GetOptionalString("name")),
        ["Concat"] = c => new Concat(c.GetOptionalString("name")),
    };

    // The custom types and who registered them (re-registering the same class is a no-op).
    private static readonly Dictionary<string, Type> Custom = new(StringComparer.Ordinal);

    /// <summary>The layer types that can be restored: the built-in ones and the registered custom ones.</summary>
    public static IReadOnlyCollection<string> KnownTypes
    {
        get { lock (Gate) return Factories.Keys.ToArray(); }
    }

    /// <summary>
    /// Registers custom layer type <typeparamref name="T"/> under <see cref="IRestorableLayer{TSelf}.LayerType"/>, so
    /// that a saved architecture naming that type is rebuilt with <see cref="IRestorableLayer{TSelf}.FromConfig"/>.
    /// Call it once at start-up, before loading a checkpoint that holds the layer. Registering the same class again is
    /// a no-op.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The name is empty, is a built-in type, or is registered to another class.</exception>
    public static void Register<T>() where T : Layer, IRestorableLayer<T> => Register(T.LayerType, c => T.FromConfig(c), typeof(T));

    /// <summary>
    /// Registers a factory for custom layer type <paramref name="typeName"/> (the layer's <see cref="Layer.TypeName"/>):
    /// it gets the JSON of <see cref="Layer.GetConfig"/> ("type", "name" and what the layer's <c>WriteConfig</c> wrote)
    /// and returns an unbuilt layer. Re-registering a name is an error.
    /// </summary>
    /// <exception cref="ConvNetArgumentException">The name is empty, is a built-in type, or is already registered.</exception>
    public static void Register(string typeName, Func<JsonObject, Layer> factory) => Register(typeName, factory, null);

    private static void Register(string typeName, Func<JsonObject, Layer> factory, Type? type)
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (string.IsNullOrWhiteSpace(typeName))
            throw new ConvNetArgumentException("A layer type name must not be empty.", nameof(typeName));
        lock (Gate)
        {
            if (Custom.TryGetValue(typeName, out var existing))
            {
                if (type is not null && existing == type) return;
                throw new ConvNetArgumentException(
                    $"Layer type '{typeName}' is already registered (by {existing.FullName}); each custom layer needs its own type name.", nameof(typeName));
            }
            if (Factories.ContainsKey(typeName))
                throw new ConvNetArgumentException($"Layer type '{typeName}' is a built-in layer; give the custom layer another type name.", nameof(typeName));
            Factories[typeName] = factory;
            Custom[typeName] = type ?? typeof(Layer);
        }
    }

    /// <summary>Creates an unbuilt layer from its configuration.</summary>
    /// <exception cref="ConvNetArgumentException">The entry has no type, the type is unknown (not built in and not registered), or the factory made a layer of another type.</exception>
    public static Layer Create(JsonObject config)
    {
        ArgumentNullException.ThrowIfNull(config);
        string type = config["type"] is JsonValue v && v.TryGetValue<string>(out var t) ? t
            : throw new ConvNetArgumentException($"Architecture: a layer entry has no \"type\": {config.ToJsonString()}.");
        Func<JsonObject, Layer>? factory;
        lock (Gate)
        {
            if (!Factories.TryGetValue(type, out factory))
                throw new ConvNetArgumentException(
                    $"Architecture: unknown layer type '{type}'; known types are {string.Join(", ", Factories.Keys)}. " +
                    "A custom layer must be registered (LayerRegistry.Register<T>()) before a model holding it is loaded.");
        }
        var layer = factory(config);
        if (layer.TypeName != type)
            throw new ConvNetArgumentException($"Architecture: the factory registered for '{type}' made a '{layer.TypeName}' layer.");
        return layer;
    }
}

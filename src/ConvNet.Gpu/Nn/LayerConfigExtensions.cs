using System.Globalization;
using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Helpers to read layer hyper-parameters back from a saved architecture (the <see cref="Layer.GetConfig"/> JSON a
/// layer's <c>FromConfig</c> gets), with errors that name the layer and the field. For custom layers too: see
/// <see cref="LayerRegistry.Register{T}"/>.
/// </summary>
public static class LayerConfigExtensions
{
    /// <summary>The integer <paramref name="key"/>.</summary>
    /// <exception cref="ConvNetArgumentException">It is missing or not an integer.</exception>
    public static int GetInt(this JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<int>(out int i) ? i : throw Missing(o, key, "an integer");

    /// <summary>The integer <paramref name="key"/>, or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ConvNetArgumentException">It is present but not an integer.</exception>
    public static int GetInt(this JsonObject o, string key, int fallback) => o.ContainsKey(key) ? o.GetInt(key) : fallback;

    /// <summary>The number <paramref name="key"/> as a float (a JSON number, or a string in invariant culture).</summary>
    /// <exception cref="ConvNetArgumentException">It is missing or not a number.</exception>
    public static float GetFloat(this JsonObject o, string key)
    {
        if (o[key] is JsonValue v)
        {
            if (v.TryGetValue<double>(out double d)) return (float)d;
            if (v.TryGetValue<float>(out float f)) return f;
            if (v.TryGetValue<string>(out var s) && float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out f)) return f;
        }
        throw Missing(o, key, "a number");
    }

    /// <summary>The boolean <paramref name="key"/>, or <paramref name="fallback"/> when absent.</summary>
    /// <exception cref="ConvNetArgumentException">It is present but not true or false.</exception>
    public static bool GetBool(this JsonObject o, string key, bool fallback = false) =>
        !o.ContainsKey(key) ? fallback
        : o[key] is JsonValue v && v.TryGetValue<bool>(out bool b) ? b : throw Missing(o, key, "true or false");

    /// <summary>The string <paramref name="key"/>.</summary>
    /// <exception cref="ConvNetArgumentException">It is missing or not a string.</exception>
    public static string GetString(this JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Missing(o, key, "a string");

    /// <summary>The string <paramref name="key"/>, or null when absent or null (e.g. "name").</summary>
    /// <exception cref="ConvNetArgumentException">It is present but not a string.</exception>
    public static string? GetOptionalString(this JsonObject o, string key) =>
        o.ContainsKey(key) && o[key] is not null ? o.GetString(key) : null;

    /// <summary>The array <paramref name="key"/>.</summary>
    /// <exception cref="ConvNetArgumentException">It is missing or not an array.</exception>
    public static JsonArray GetArray(this JsonObject o, string key) =>
        o[key] as JsonArray ?? throw Missing(o, key, "an array");

    internal static JsonArray ToJsonArray(this IEnumerable<int> values)
    {
        var a = new JsonArray();
        foreach (int v in values) a.Add((JsonNode)JsonValue.Create(v));
        return a;
    }

    internal static int[] ToIntArray(this JsonArray a) =>
        a.Select(n => n is JsonValue v && v.TryGetValue<int>(out int i) ? i
            : throw new ConvNetArgumentException($"Architecture: expected an integer array, found {a.ToJsonString()}.")).ToArray();

    private static ConvNetArgumentException Missing(JsonObject o, string key, string what) =>
        new($"Architecture: layer {o["type"]?.ToJsonString() ?? "?"} {o["name"]?.ToJsonString() ?? "?"} needs '{key}' as {what}, found {o[key]?.ToJsonString() ?? "nothing"}.");

    /// <summary>Writes a padding as "valid", "same", "full" or [top, bottom, left, right].</summary>
    internal static JsonNode ToJson(this Padding2d p) => p.Mode switch
    {
        PaddingMode.Valid => "valid",
        PaddingMode.Same => "same",
        PaddingMode.Full => "full",
        _ => new int[] { p.Top, p.Bottom, p.Left, p.Right }.ToJsonArray(),
    };

    internal static Padding2d GetPadding(this JsonObject o, string key)
    {
        var node = o[key];
        if (node is JsonArray a)
        {
            var v = a.ToIntArray();
            if (v.Length == 4) return Padding2d.Explicit(v[0], v[1], v[2], v[3]);
        }
        else if (node is JsonValue s && s.TryGetValue<string>(out var mode))
        {
            switch (mode)
            {
                case "valid": return Padding2d.Valid;
                case "same": return Padding2d.Same;
                case "full": return Padding2d.Full;
            }
        }
        throw Missing(o, key, "\"valid\", \"same\", \"full\" or [top, bottom, left, right]");
    }
}

using System.Globalization;
using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Nn;

/// <summary>Helpers to read layer hyper-parameters back from a saved architecture, with errors that name the field.</summary>
internal static class LayerConfigExtensions
{
    public static int GetInt(this JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<int>(out int i) ? i : throw Missing(o, key, "an integer");

    public static int GetInt(this JsonObject o, string key, int fallback) => o.ContainsKey(key) ? o.GetInt(key) : fallback;

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

    public static bool GetBool(this JsonObject o, string key, bool fallback = false) =>
        !o.ContainsKey(key) ? fallback
        : o[key] is JsonValue v && v.TryGetValue<bool>(out bool b) ? b : throw Missing(o, key, "true or false");

    public static string GetString(this JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw Missing(o, key, "a string");

    public static string? GetOptionalString(this JsonObject o, string key) =>
        o.ContainsKey(key) && o[key] is not null ? o.GetString(key) : null;

    public static JsonArray GetArray(this JsonObject o, string key) =>
        o[key] as JsonArray ?? throw Missing(o, key, "an array");

    public static JsonArray ToJsonArray(this IEnumerable<int> values)
    {
        var a = new JsonArray();
        foreach (int v in values) a.Add((JsonNode)JsonValue.Create(v));
        return a;
    }

    public static int[] ToIntArray(this JsonArray a) =>
        a.Select(n => n is JsonValue v && v.TryGetValue<int>(out int i) ? i
            : throw new ConvNetArgumentException($"Architecture: expected an integer array, found {a.ToJsonString()}.")).ToArray();

    private static ConvNetArgumentException Missing(JsonObject o, string key, string what) =>
        new($"Architecture: layer {o["type"]?.ToJsonString() ?? "?"} {o["name"]?.ToJsonString() ?? "?"} needs '{key}' as {what}, found {o[key]?.ToJsonString() ?? "nothing"}.");

    /// <summary>Writes a padding as "valid", "same", "full" or [top, bottom, left, right].</summary>
    public static JsonNode ToJson(this Padding2d p) => p.Mode switch
    {
        PaddingMode.Valid => "valid",
        PaddingMode.Same => "same",
        PaddingMode.Full => "full",
        _ => new int[] { p.Top, p.Bottom, p.Left, p.Right }.ToJsonArray(),
    };

    public static Padding2d GetPadding(this JsonObject o, string key)
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

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace ConvNet.Gpu.Backends.Cuda;

/// <summary>
/// The convolution autotuner's results, in memory and in a JSON file, keyed by device (GPU name, driver version and
/// this library's version, so a new driver or new kernels re-tune) and by pass, geometry and TF32 mode. The file keeps
/// entries of other devices untouched. It is read once, on the first lookup; every new result is merged into the
/// current file and written atomically (a temporary file renamed over it), so concurrent processes lose nothing but a
/// race between two writes of the same entry. A file that cannot be read or parsed is replaced on the next write, and
/// <see cref="LoadProblem"/> says why (nothing is silently trusted).
/// </summary>
/// <remarks>Format: <c>{"format": "convnet-conv-autotune/1", "entries": [{"device": ..., "key": ..., "algorithm": ...,
/// "timingsMs": {"ImplicitGemmTf32": 0.061, ...}}]}</c>.</remarks>
internal sealed class ConvAutotuneCache
{
    public const string Format = "convnet-conv-autotune/1";

    private readonly string? _path;
    private readonly string _device;
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private bool _loaded;

    /// <summary>One tuned result.</summary>
    public sealed record Entry(ConvAlgorithm Algorithm, IReadOnlyDictionary<ConvAlgorithm, double> TimingsMilliseconds);

    /// <param name="path">The JSON file, or null for memory only.</param>
    /// <param name="device">The device part of the key (see <see cref="DeviceKey"/>).</param>
    public ConvAutotuneCache(string? path, string device)
    {
        _path = string.IsNullOrEmpty(path) ? null : path;
        _device = device;
    }

    /// <summary>The file, or null when the cache lives in memory only.</summary>
    public string? Path => _path;

    /// <summary>Why the file could not be used when it was read (null when it was fine or absent).</summary>
    public string? LoadProblem { get; private set; }

    /// <summary>The device key: GPU name, driver version and library version.</summary>
    public static string DeviceKey(CudaDeviceInfo info) =>
        $"{info.Name} | driver {info.DriverVersion} | ConvNet.Gpu {typeof(ConvAutotuneCache).Assembly.GetName().Version}";

    /// <summary>The default file: $XDG_CACHE_HOME (or ~/.cache; LocalApplicationData on Windows)/convnet-gpu/conv-autotune.json.</summary>
    public static string DefaultPath()
    {
        string? root = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(root))
            root = OperatingSystem.IsWindows()
                ? Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData)
                : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return System.IO.Path.Combine(root, "convnet-gpu", "conv-autotune.json");
    }

    /// <summary>The key of one tuned decision (device excluded): pass, geometry, TF32 mode.</summary>
    public static string Key(ConvPass pass, Conv2dGeometry g, bool tf32) => string.Create(CultureInfo.InvariantCulture,
        $"{pass} n{g.N} c{g.C} h{g.H} w{g.W} k{g.K} r{g.KH}x{g.KW} s{g.SH}x{g.SW} p{g.PadTop},{g.PadBottom},{g.PadLeft},{g.PadRight} "
        + $"d{g.DH}x{g.DW} g{g.Groups} tf32={(tf32 ? 1 : 0)}");

    /// <summary>The cached result for <paramref name="key"/>, reading the file on first use.</summary>
    public Entry? Find(string key)
    {
        EnsureLoaded();
        return _entries.GetValueOrDefault(key);
    }

    /// <summary>Records a result and writes it to the file (when there is one).</summary>
    public void Store(string key, Entry entry)
    {
        EnsureLoaded();
        _entries[key] = entry;
        if (_path is null) return;
        JsonObject root = ReadFile(out _) ?? new JsonObject();
        var entries = new JsonArray();
        if (root["entries"] is JsonArray old)
            foreach (var node in old)
                if (node is JsonObject o && !(o["device"]?.GetValue<string>() == _device && o["key"]?.GetValue<string>() == key))
                    entries.Add((JsonNode)o.DeepClone());
        var timings = new JsonObject();
        foreach (var (algorithm, ms) in entry.TimingsMilliseconds) timings[algorithm.ToString()] = ms;
        entries.Add((JsonNode)new JsonObject
        {
            ["device"] = _device,
            ["key"] = key,
            ["algorithm"] = entry.Algorithm.ToString(),
            ["timingsMs"] = timings,
        });
        var document = new JsonObject { ["format"] = Format, ["entries"] = entries };
        string directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path))!;
        Directory.CreateDirectory(directory);
        string temp = System.IO.Path.Combine(directory, $".{System.IO.Path.GetFileName(_path)}.{Environment.ProcessId}.tmp");
        File.WriteAllText(temp, document.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, _path, overwrite: true);
    }

    private void EnsureLoaded()
    {
        if (_loaded) return;
        _loaded = true;
        if (_path is null) return;
        JsonObject? root = ReadFile(out string? problem);
        LoadProblem = problem;
        if (root?["entries"] is not JsonArray entries) return;
        foreach (var node in entries)
        {
            if (node is not JsonObject o || o["device"]?.GetValue<string>() != _device) continue;
            string? key = o["key"]?.GetValue<string>();
            if (key is null || !Enum.TryParse(o["algorithm"]?.GetValue<string>(), out ConvAlgorithm algorithm)) continue;
            var timings = new Dictionary<ConvAlgorithm, double>();
            if (o["timingsMs"] is JsonObject t)
                foreach (var (name, value) in t)
                    if (Enum.TryParse(name, out ConvAlgorithm a) && value is not null) timings[a] = value.GetValue<double>();
            _entries[key] = new Entry(algorithm, timings);
        }
    }

    /// <summary>The file's root object, or null (with the reason in <paramref name="problem"/> unless it is simply absent).</summary>
    private JsonObject? ReadFile(out string? problem)
    {
        problem = null;
        if (_path is null || !File.Exists(_path)) return null;
        try
        {
            var root = JsonNode.Parse(File.ReadAllText(_path)) as JsonObject;
            if (root?["format"]?.GetValue<string>() == Format) return root;
            problem = $"{_path} is not a {Format} file; it will be replaced";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException or FormatException)
        {
            problem = $"{_path} could not be read ({e.GetType().Name}: {e.Message}); it will be replaced";
        }
        return null;
    }
}

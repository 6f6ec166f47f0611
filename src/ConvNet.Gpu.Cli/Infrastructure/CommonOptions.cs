using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace ConvNet.Gpu.Cli.Infrastructure;

/// <summary>
/// Option factories shared by the commands. Numbers are parsed here with messages that name the option, the rule and
/// the value given (e.g. "--epochs must be a whole number ≥ 1, got '0'"); a bad value is a usage error (exit code 2).
/// New instances per command tree, because an option belongs to the commands it is added to.
/// </summary>
internal static class CommonOptions
{
    /// <summary>--verbose: stack traces on errors and more detail while running; applies to every command.</summary>
    public static Option<bool> Verbose() => new("--verbose", "-v")
    {
        Description = "Print more detail, and the stack trace when something fails.",
        Recursive = true,
    };

    /// <summary>An integer option that must be at least <paramref name="minimum"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int minimum, params string[] aliases) =>
        new(name, aliases)
        {
            Description = description,
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r => ParseInt(r, name, minimum) ?? defaultValue,
        };

    /// <summary>An optional integer option (null when absent) that must be at least <paramref name="minimum"/>.</summary>
    public static Option<int?> OptionalInt(string name, string description, int minimum, params string[] aliases) =>
        new(name, aliases)
        {
            Description = description,
            CustomParser = r => ParseInt(r, name, minimum),
        };

    /// <summary>An optional strictly positive, finite floating-point option (null when absent).</summary>
    public static Option<double?> OptionalPositiveDouble(string name, string description, params string[] aliases) =>
        new(name, aliases)
        {
            Description = description,
            CustomParser = r => ParsePositiveDouble(r, name),
        };

    /// <summary>The option's value as a finite number above 0; null (with the error added) when absent or not one.</summary>
    private static double? ParsePositiveDouble(ArgumentResult r, string name)
    {
        if (r.Tokens.Count == 0) return null;
        string text = r.Tokens[0].Value;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
        {
            r.AddError($"{name} must be a number, got '{text}'.");
            return null;
        }
        if (v <= 0)
        {
            r.AddError($"{name} must be greater than 0, got '{text}'.");
            return null;
        }
        return v;
    }

    /// <summary>
    /// An optional learning-rate-like option: a positive number that is a normal float32 (1.18e-38 to 3.4e38), since the
    /// optimizers compute in float32 and a smaller value would silently become 0 (or lose its precision).
    /// </summary>
    public static Option<double?> OptionalPositiveFloat(string name, string description, params string[] aliases) =>
        new(name, aliases)
        {
            Description = description,
            CustomParser = r =>
            {
                if (ParsePositiveDouble(r, name) is not { } v) return null;
                string text = r.Tokens[0].Value;
                float f = (float)v;
                if (!float.IsNormal(f))
                {
                    r.AddError(FormattableString.Invariant(
                        $"{name} {text} is outside what float32 can hold (1.18E-38 to 3.4E+38): training would use {f}."));
                    return null;
                }
                return v;
            },
        };

    /// <summary>An optional path option (null when absent) that must not be empty or blank.</summary>
    public static Option<string?> OptionalPath(string name, string description, params string[] aliases) =>
        new(name, aliases)
        {
            Description = description,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return null;
                string text = r.Tokens[0].Value;
                if (string.IsNullOrWhiteSpace(text)) r.AddError($"{name} must not be empty; give a path, or leave the option out for the default.");
                return text;
            },
        };

    /// <summary>A string option restricted to <paramref name="allowed"/> (case-insensitive); the error lists the valid values.</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, string what,
        IReadOnlyList<string> allowed, params string[] aliases) =>
        new(name, aliases)
        {
            Description = $"{description} One of: {string.Join(", ", allowed)}. Default: {defaultValue}.",
            DefaultValueFactory = _ => defaultValue,
            CustomParser = r =>
            {
                if (r.Tokens.Count == 0) return defaultValue;
                string text = r.Tokens[0].Value;
                string? match = allowed.FirstOrDefault(a => string.Equals(a, text, StringComparison.OrdinalIgnoreCase));
                if (match is null) r.AddError($"unknown {what} '{text}'. Valid {what}s: {string.Join(", ", allowed)}.");
                return match ?? defaultValue;
            },
        };

    private static int? ParseInt(ArgumentResult r, string name, int minimum)
    {
        if (r.Tokens.Count == 0) return null;
        string text = r.Tokens[0].Value;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
        {
            r.AddError($"{name} must be a whole number ≥ {minimum}, got '{text}'.");
            return null;
        }
        if (v < minimum)
        {
            r.AddError($"{name} must be at least {minimum}, got {v}.");
            return null;
        }
        return v;
    }
}

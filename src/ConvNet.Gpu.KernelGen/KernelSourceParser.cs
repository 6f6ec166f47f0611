using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace ConvNet.Gpu.KernelGen;

/// <summary>
/// Reads the kernel declarations of kernels/*.cu without a C preprocessor, by the conventions of kernels/cn_runtime.cuh:
/// a kernel is <c>CN_KERNEL name(params)</c> or <c>CN_KERNEL CN_LAUNCH_BOUNDS(threads, blocks) name(params)</c> (what
/// build/gen-emu-unit.sh registers with the emulator too); a parameter is <c>GPTR(T) name</c>, <c>GPTR_UNIQUE(T) name</c>,
/// <c>int</c>, <c>float</c>, <c>long long</c> or <c>unsigned long long</c>, or an object-like macro defined in the kernel
/// files whose body is such a list (e.g. CN_GEOMETRY_PARAMS). Anything else is an error naming the kernel and parameter,
/// so a kernel the generator cannot describe fails the build instead of getting a wrong launcher.
/// Kernels inside #if blocks are all listed (the sm_80-only ones included): the launcher set is the union of the targets.
/// </summary>
internal static class KernelSourceParser
{
    private static readonly Regex KernelHead = new(
        @"\bCN_KERNEL\s+(?:CN_LAUNCH_BOUNDS\s*\([^)]*\)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(", RegexOptions.CultureInvariant);

    private static readonly Regex Define = new(
        @"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_][A-Za-z0-9_]*)(?![A-Za-z0-9_(])[ \t]*(.*)$", RegexOptions.CultureInvariant);

    private static readonly Regex PointerParameter = new(
        @"^(GPTR|GPTR_UNIQUE)\s*\(\s*([^()]+?)\s*\)\s*([A-Za-z_][A-Za-z0-9_]*)$", RegexOptions.CultureInvariant);

    private static readonly Regex ValueParameter = new(
        @"^((?:[A-Za-z_][A-Za-z0-9_]*\s+)+)([A-Za-z_][A-Za-z0-9_]*)$", RegexOptions.CultureInvariant);

    private static readonly Regex Identifier = new(@"^[A-Za-z_][A-Za-z0-9_]*$", RegexOptions.CultureInvariant);

    /// <summary>One kernel source file: its name (e.g. "pooling.cu") and text.</summary>
    public readonly struct Source
    {
        public Source(string file, string text)
        {
            File = file;
            Text = text;
        }

        public string File { get; }

        public string Text { get; }
    }

    /// <summary>The result of reading every kernel file.</summary>
    public sealed class Result
    {
        public List<KernelSignature> Kernels { get; } = new();

        /// <summary>The parameter-list macros the kernels use, by macro name.</summary>
        public SortedDictionary<string, ParameterGroup> Groups { get; } = new(StringComparer.Ordinal);

        public List<KernelSourceError> Errors { get; } = new();
    }

    /// <summary>
    /// Parses <paramref name="sources"/> (.cu and .cuh files; kernels are read from the .cu files only, macros from all).
    /// Kernels come out ordered by file name, then by position in the file.
    /// </summary>
    public static Result Parse(IEnumerable<Source> sources)
    {
        var result = new Result();
        var files = new List<(string File, string Code)>();
        foreach (var s in sources) files.Add((s.File, StripComments(s.Text)));
        files.Sort((a, b) => string.CompareOrdinal(a.File, b.File));

        var macros = new Dictionary<string, (string Body, string File)>(StringComparer.Ordinal);
        foreach (var (file, code) in files)
            foreach (var (name, body) in Defines(code))
                macros[name] = (body, file);

        foreach (var (file, code) in files)
        {
            if (!file.EndsWith(".cu", StringComparison.Ordinal)) continue;
            foreach (Match head in KernelHead.Matches(code))
            {
                if (IsInsideDirective(code, head.Index)) continue; // e.g. a #define that mentions CN_KERNEL
                string name = head.Groups[1].Value;
                int line = LineOf(code, head.Index);
                int open = head.Index + head.Length - 1;
                int close = MatchingParen(code, open);
                if (close < 0)
                {
                    result.Errors.Add(new KernelSourceError(file, line, $"kernel {name}: no ')' closes its parameter list"));
                    continue;
                }
                var parameters = new List<KernelParameter>();
                string? error = null;
                foreach (string raw in SplitTopLevel(code.Substring(open + 1, close - open - 1)))
                {
                    error = AddParameter(raw, null, 0, macros, parameters, result.Groups);
                    if (error is not null) break;
                }
                if (error is not null) result.Errors.Add(new KernelSourceError(file, line, $"kernel {name}: {error}"));
                else result.Kernels.Add(new KernelSignature(file, name, parameters, line));
            }
        }
        return result;
    }

    private static string? AddParameter(string raw, string? group, int depth, Dictionary<string, (string Body, string File)> macros,
        List<KernelParameter> into, SortedDictionary<string, ParameterGroup> groups)
    {
        string text = Regex.Replace(raw.Trim(), @"\s+", " ");
        if (text.Length == 0) return "an empty parameter";
        if (text == "void") return null;
        if (Identifier.IsMatch(text))
        {
            if (!macros.TryGetValue(text, out var macro))
                return $"parameter '{text}' is neither a declaration nor a macro defined in kernels/";
            if (depth > 8) return $"macro {text} expands too deeply";
            if (group is not null) return $"macro {text} is nested in parameter macro {group}: not supported";
            int first = into.Count;
            foreach (string part in SplitTopLevel(macro.Body))
            {
                string? error = AddParameter(part, text, depth + 1, macros, into, groups);
                if (error is not null) return error;
            }
            if (!groups.ContainsKey(text))
                groups[text] = new ParameterGroup(text, macro.File, into.GetRange(first, into.Count - first));
            return null;
        }
        var pointer = PointerParameter.Match(text);
        if (pointer.Success)
        {
            into.Add(new KernelParameter(pointer.Groups[3].Value, ParameterKind.Pointer,
                $"{pointer.Groups[1].Value}({pointer.Groups[2].Value})", group));
            return null;
        }
        var value = ValueParameter.Match(text);
        if (value.Success)
        {
            string type = value.Groups[1].Value.Trim();
            string bare = Regex.Replace(type, @"\bconst\b\s*", "").Trim();
            ParameterKind? kind = bare switch
            {
                "int" or "signed int" or "signed" => ParameterKind.Int32,
                "float" => ParameterKind.Float32,
                "long long" or "long long int" or "signed long long" => ParameterKind.Int64,
                "unsigned long long" or "unsigned long long int" => ParameterKind.UInt64,
                _ => null,
            };
            if (kind is null)
                return $"parameter '{text}' has type '{type}'; a launcher can pass GPTR(T), GPTR_UNIQUE(T), int, float, long long and unsigned long long";
            into.Add(new KernelParameter(value.Groups[2].Value, kind.Value, type, group));
            return null;
        }
        return $"cannot read parameter '{text}'";
    }

    /// <summary>Object-like #defines (name, body) of <paramref name="code"/>, continuation lines joined.</summary>
    private static IEnumerable<(string Name, string Body)> Defines(string code)
    {
        string[] lines = code.Replace("\r\n", "\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var line = new StringBuilder(lines[i]);
            while (line.Length > 0 && line[line.Length - 1] == '\\' && i + 1 < lines.Length)
            {
                line.Length--;
                line.Append(' ').Append(lines[++i]);
            }
            var m = Define.Match(line.ToString());
            if (m.Success) yield return (m.Groups[1].Value, m.Groups[2].Value.Trim());
        }
    }

    /// <summary>The text with comments blanked out (newlines kept, so offsets and lines stay those of the file).</summary>
    internal static string StripComments(string text)
    {
        var s = new StringBuilder(text);
        int i = 0;
        while (i < s.Length)
        {
            char c = s[i];
            char next = i + 1 < s.Length ? s[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                while (i < s.Length && s[i] != '\n') s[i++] = ' ';
            }
            else if (c == '/' && next == '*')
            {
                s[i++] = ' ';
                s[i++] = ' ';
                while (i < s.Length && !(s[i] == '*' && i + 1 < s.Length && s[i + 1] == '/'))
                {
                    if (s[i] != '\n') s[i] = ' ';
                    i++;
                }
                for (int k = 0; k < 2 && i < s.Length; k++) s[i++] = ' ';
            }
            else if (c == '"' || c == '\'')
            {
                // Skip a string or character literal, so "//" inside one is not a comment.
                i++;
                while (i < s.Length && s[i] != c && s[i] != '\n')
                    i += s[i] == '\\' ? 2 : 1;
                i++;
            }
            else i++;
        }
        return s.ToString();
    }

    /// <summary>Splits a parameter list at the commas outside parentheses.</summary>
    private static List<string> SplitTopLevel(string list)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < list.Length; i++)
        {
            if (list[i] == '(') depth++;
            else if (list[i] == ')') depth--;
            else if (list[i] == ',' && depth == 0)
            {
                parts.Add(list.Substring(start, i - start));
                start = i + 1;
            }
        }
        string last = list.Substring(start);
        if (parts.Count > 0 || last.Trim().Length > 0) parts.Add(last);
        return parts;
    }

    private static int MatchingParen(string code, int open)
    {
        int depth = 0;
        for (int i = open; i < code.Length; i++)
        {
            if (code[i] == '(') depth++;
            else if (code[i] == ')' && --depth == 0) return i;
        }
        return -1;
    }

    private static bool IsInsideDirective(string code, int index)
    {
        // Walk back over continuation lines to the logical line's start and see whether it is a preprocessor line.
        int start = code.LastIndexOf('\n', Math.Max(0, index - 1)) + 1;
        while (start >= 2 && code[start - 2] == '\\') start = code.LastIndexOf('\n', start - 2) + 1;
        return code.Substring(start, index - start).TrimStart().StartsWith("#", StringComparison.Ordinal);
    }

    private static int LineOf(string code, int index)
    {
        int line = 1;
        for (int i = 0; i < index; i++)
            if (code[i] == '\n') line++;
        return line;
    }
}

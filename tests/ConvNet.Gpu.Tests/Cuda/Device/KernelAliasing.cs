using System.Text.RegularExpressions;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// Reads each kernel's aliasing contract from kernels/*.cu: its pointer parameters, whether each is declared
/// <c>GPTR</c> (may alias another parameter) or <c>GPTR_UNIQUE</c> (__restrict__), and the parameters its
/// "Aliasing:" comment line names in "p may alias q" clauses (kernels/cn_runtime.cuh, "aliasing").
/// </summary>
internal static partial class KernelAliasing
{
    /// <summary>One kernel's declared contract.</summary>
    /// <param name="Kernel">The extern "C" name.</param>
    /// <param name="File">The .cu file it is in.</param>
    /// <param name="Parameters">Every parameter name, in order (PTX param_i is Parameters[i]).</param>
    /// <param name="MayAlias">Pointer parameters declared GPTR (may alias).</param>
    /// <param name="Unique">Pointer parameters declared GPTR_UNIQUE.</param>
    /// <param name="AliasingLine">The first sentence of the "Aliasing:" comment, or null when the kernel has none.</param>
    /// <param name="NamedInAliasingLine">Parameters named in its "may alias" clauses.</param>
    public sealed record Contract(string Kernel, string File, IReadOnlyList<string> Parameters, IReadOnlySet<string> MayAlias,
        IReadOnlySet<string> Unique, string? AliasingLine, IReadOnlySet<string> NamedInAliasingLine);

    /// <summary>Every kernel's contract, parsed from the sources in <paramref name="kernelDirectory"/>.</summary>
    public static IReadOnlyList<Contract> Parse(string kernelDirectory)
    {
        var contracts = new List<Contract>();
        foreach (string file in Directory.GetFiles(kernelDirectory, "*.cu").Order(StringComparer.Ordinal))
        {
            string[] lines = System.IO.File.ReadAllLines(file);
            string text = string.Join('\n', lines);
            foreach (Match m in KernelSignature().Matches(text))
            {
                string name = m.Groups[1].Value;
                var parameters = new List<string>();
                var mayAlias = new HashSet<string>(StringComparer.Ordinal);
                var unique = new HashSet<string>(StringComparer.Ordinal);
                foreach (string raw in SplitParameters(m.Groups[2].Value))
                {
                    string p = Regex.Replace(raw, @"\s+", " ").Trim();
                    string paramName = Regex.Match(p, @"([A-Za-z_][A-Za-z0-9_]*)$").Groups[1].Value;
                    parameters.Add(paramName);
                    if (p.StartsWith("GPTR_UNIQUE(", StringComparison.Ordinal)) unique.Add(paramName);
                    else if (p.StartsWith("GPTR(", StringComparison.Ordinal)) mayAlias.Add(paramName);
                }
                string? aliasing = AliasingSentence(lines, text[..m.Index].Count(c => c == '\n'));
                contracts.Add(new Contract(name, Path.GetFileName(file), parameters, mayAlias, unique, aliasing,
                    aliasing is null ? new HashSet<string>() : NamesInMayAliasClauses(aliasing)));
            }
        }
        return contracts;
    }

    /// <summary>The "Aliasing:" sentence of the comment block right above line <paramref name="declarationLine"/>.</summary>
    private static string? AliasingSentence(string[] lines, int declarationLine)
    {
        int start = declarationLine;
        while (start > 0 && lines[start - 1].TrimStart().StartsWith("//", StringComparison.Ordinal)) start--;
        string comment = string.Join(' ', lines[start..declarationLine].Select(l => l.TrimStart()[2..].Trim()));
        int at = comment.IndexOf("Aliasing:", StringComparison.Ordinal);
        if (at < 0) return null;
        string rest = comment[(at + "Aliasing:".Length)..];
        // Drop parenthesized explanations (they may nest), then keep the first sentence.
        string previous;
        do { previous = rest; rest = Regex.Replace(rest, @"\([^()]*\)", ""); } while (rest != previous);
        int end = Regex.Match(rest, @"\.(\s|$)").Index;
        return (end > 0 ? rest[..end] : rest).Trim();
    }

    private static HashSet<string> NamesInMayAliasClauses(string sentence)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (string clause in sentence.Split(';'))
        {
            if (!clause.Contains("may alias", StringComparison.Ordinal)) continue;
            foreach (Match w in Regex.Matches(clause, @"[A-Za-z_][A-Za-z0-9_]*"))
                if (w.Value is not ("may" or "alias" or "or" or "and")) names.Add(w.Value);
        }
        return names;
    }

    private static IEnumerable<string> SplitParameters(string list)
    {
        int depth = 0, start = 0;
        for (int i = 0; i < list.Length; i++)
        {
            if (list[i] == '(') depth++;
            else if (list[i] == ')') depth--;
            else if (list[i] == ',' && depth == 0) { yield return list[start..i]; start = i + 1; }
        }
        yield return list[start..];
    }

    // `CN_KERNEL name(params)`, or `CN_KERNEL CN_LAUNCH_BOUNDS(threads, blocks) name(params)` (the tile kernels).
    [GeneratedRegex(@"CN_KERNEL\s+(?:CN_LAUNCH_BOUNDS\([^)]*\)\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*\(((?:[^()]|\([^()]*\))*)\)")]
    private static partial Regex KernelSignature();
}

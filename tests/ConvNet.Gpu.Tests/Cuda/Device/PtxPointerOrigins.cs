using System.Text.RegularExpressions;

namespace ConvNet.Gpu.Tests.Cuda.Device;

/// <summary>
/// A small flow-insensitive analysis of one PTX kernel: which kernel parameters each register's value may be derived
/// from (ld.param of param_i, then cvta/add/mov/mad... propagate; loaded values do not), and so which parameters every
/// non-coherent global load (<c>ld.global.nc</c>, the read-only cache path a compiler may only use for memory that
/// nothing in the launch writes) reads through. Over-approximates (a register reused for two pointers counts for both),
/// so "no nc load from p" is a safe conclusion.
/// </summary>
internal static partial class PtxPointerOrigins
{
    /// <summary>One ld.global.nc in the kernel: its text and the parameter indices its address may come from.</summary>
    public sealed record NcLoad(string Instruction, IReadOnlySet<int> Parameters);

    /// <summary>The body of kernel <paramref name="kernel"/> in <paramref name="ptx"/>, or null when it is not there.</summary>
    public static string? KernelBody(string ptx, string kernel)
    {
        var entry = Regex.Match(ptx, $@"\.entry\s+{Regex.Escape(kernel)}\s*\(");
        if (!entry.Success) return null;
        int open = ptx.IndexOf("\n{", entry.Index, StringComparison.Ordinal);
        int close = ptx.IndexOf("\n}", open, StringComparison.Ordinal);
        return open < 0 || close < 0 ? null : ptx[open..close];
    }

    /// <summary>Every ld.global.nc of the kernel body with the parameters its address derives from.</summary>
    public static IReadOnlyList<NcLoad> NonCoherentLoads(string body, string kernel)
    {
        var instructions = new List<(string Op, List<string> Operands, string Text)>();
        foreach (string raw in body.Split('\n'))
        {
            string line = raw.Trim();
            int comment = line.IndexOf("//", StringComparison.Ordinal);
            if (comment >= 0) line = line[..comment].Trim();
            if (line.Length == 0 || !line.EndsWith(';') || line.StartsWith('.')) continue;
            if (line.StartsWith('@')) line = line[(line.IndexOf(' ') + 1)..].Trim();
            int space = line.IndexOfAny([' ', '\t']);
            if (space < 0) continue;
            string op = line[..space];
            var operands = line[(space + 1)..^1].Split(',').Select(o => o.Trim()).ToList();
            instructions.Add((op, operands, line));
        }

        var origins = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal);
        HashSet<int> Of(string register) => origins.TryGetValue(register, out var set) ? set : [];
        bool changed = true;
        while (changed)
        {
            changed = false;
            foreach (var (op, operands, _) in instructions)
            {
                if (operands.Count == 0 || op.StartsWith("st.", StringComparison.Ordinal) || op.StartsWith("bra", StringComparison.Ordinal)) continue;
                string destination = operands[0];
                if (!destination.StartsWith('%')) continue;
                var add = new HashSet<int>();
                if (op.StartsWith("ld.param", StringComparison.Ordinal))
                {
                    var param = Regex.Match(operands[1], $@"\[{Regex.Escape(kernel)}_param_(\d+)");
                    if (param.Success) add.Add(int.Parse(param.Groups[1].Value));
                }
                else if (!op.StartsWith("ld.", StringComparison.Ordinal)) // a loaded value is data, not an address
                {
                    foreach (string source in operands.Skip(1))
                        foreach (Match r in Register().Matches(source)) add.UnionWith(Of(r.Value));
                }
                if (add.Count == 0) continue;
                if (!origins.TryGetValue(destination, out var set)) origins[destination] = set = [];
                int before = set.Count;
                set.UnionWith(add);
                changed |= set.Count != before;
            }
        }

        var loads = new List<NcLoad>();
        foreach (var (op, operands, text) in instructions)
        {
            if (!op.StartsWith("ld.global.nc", StringComparison.Ordinal) || operands.Count < 2) continue;
            var address = Register().Match(operands[1]);
            loads.Add(new NcLoad(text, address.Success ? Of(address.Value) : new HashSet<int>()));
        }
        return loads;
    }

    [GeneratedRegex(@"%[A-Za-z]+\d+")]
    private static partial Regex Register();
}

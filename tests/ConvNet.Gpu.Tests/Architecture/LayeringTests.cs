using System.Text;
using Xunit;

namespace ConvNet.Gpu.Tests.Architecture;

/// <summary>
/// The dependency rules of the library (docs/architecture.md), checked on the compiled assembly's metadata so that no
/// use escapes: a type uses only its own layer and lower ones (<see cref="LibraryLayers"/>), modules never depend on
/// each other in a cycle, every namespace has a place in the table, and the root namespace holds only the bottom
/// layer's types plus the listed entry points.
/// </summary>
public sealed class LayeringTests
{
    private static readonly Lazy<TypeDependencies> Library = new(() => TypeDependencies.Of(typeof(Tensor).Assembly));

    [Fact]
    public void EveryNamespaceHasALayer()
    {
        var unplaced = Library.Value.Types.Where(t => LibraryLayers.IsLibraryType(t) && LibraryLayers.Of(t) is null)
            .Select(TypeDependencies.NamespaceOf).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(unplaced.Count == 0,
            $"These namespaces have no layer: {string.Join(", ", unplaced)}. Add each to LibraryLayers.All (and docs/architecture.md) " +
            "at the lowest rank whose types it may use.");
    }

    [Fact]
    public void NoTypeUsesAHigherLayer()
    {
        var upward = Upward(Library.Value.Uses);
        var message = new StringBuilder($"{upward.Count} upward dependencies (a lower layer must not use a higher one):");
        foreach (var (use, from, to) in upward)
            message.Append($"\n  {use.From} [{from!.Name}] uses {use.To} [{to!.Name}] in {use.Where}");
        Assert.True(upward.Count == 0, message.ToString());
    }

    [Fact]
    public void ModulesFormNoCycle()
    {
        var (cycles, edges) = ModuleCycles(Library.Value.Uses);
        var message = new StringBuilder($"{cycles.Count} dependency cycles between modules:");
        foreach (var cycle in cycles)
        {
            message.Append($"\n  {{{string.Join(", ", cycle)}}}:");
            foreach (var ((from, to), use) in edges.Where(e => cycle.Contains(e.Key.From) && cycle.Contains(e.Key.To)))
                message.Append($"\n    {from} -> {to} (e.g. {use.From} uses {use.To} in {use.Where})");
        }
        Assert.True(cycles.Count == 0, message.ToString());
    }

    [Fact]
    public void TheAnalysisSeesKnownDependencies()
    {
        // Guards the checker itself: these uses exist and must be found, or the rules above would pass vacuously.
        var uses = Library.Value.Uses.Select(u => (u.From, u.To)).ToHashSet();
        Assert.Contains(("ConvNet.Gpu.Nn.Conv2D", "ConvNet.Gpu.Nn.Layer"), uses);                    // base type
        Assert.Contains(("ConvNet.Gpu.Nn.Conv2D", "ConvNet.Gpu.Conv2dGeometry"), uses);             // field / local
        Assert.Contains(("ConvNet.Gpu.Backend", "ConvNet.Gpu.Backends.Cpu.CpuBackend"), uses);      // newobj in a body
        Assert.Contains(("ConvNet.Gpu.Training.Trainer", "ConvNet.Gpu.Data.DataLoader"), uses);     // inside an iterator or a body
        Assert.True(Library.Value.Types.Count > 100, $"only {Library.Value.Types.Count} types were read");
    }

    [Fact]
    public void TheRulesCatchAnUpwardUseAndACycle()
    {
        // A synthetic dependency list: the rules must flag what the real library must not contain.
        TypeUse[] uses =
        [
            new("ConvNet.Gpu.Nn.Layer", "ConvNet.Gpu.Training.Trainer", "method Layer.Forward"),          // Nn -> Training: upward
            new("ConvNet.Gpu.Losses.Loss", "ConvNet.Gpu.Optimizers.Optimizer", "method Loss.Backward"),   // siblings...
            new("ConvNet.Gpu.Optimizers.Optimizer", "ConvNet.Gpu.Losses.Loss", "method Optimizer.Step"),  // ...in a cycle
            new("ConvNet.Gpu.Training.Trainer", "ConvNet.Gpu.Data.Dataset", "field"),                      // downward: fine
            new("ConvNet.Gpu.Backend", "ConvNet.Gpu.Training.Trainer", "method Backend.Cpu"),             // entry point: fine
        ];
        var upward = Upward(uses);
        Assert.Equal([("ConvNet.Gpu.Nn.Layer", "ConvNet.Gpu.Training.Trainer")], upward.Select(u => (u.Use.From, u.Use.To)).ToArray());
        var (cycles, _) = ModuleCycles(uses);
        var cycle = Assert.Single(cycles);
        Assert.Equal(["ConvNet.Gpu.Losses", "ConvNet.Gpu.Optimizers"], cycle);
    }

    [Fact]
    public void EntryPointsAreStatelessStaticClasses()
    {
        var assembly = typeof(Tensor).Assembly;
        foreach (var name in LibraryLayers.EntryPoints)
        {
            var type = assembly.GetType(name) ?? throw new InvalidOperationException($"Entry point {name} does not exist.");
            Assert.True(type.IsAbstract && type.IsSealed, $"Entry point {name} must be a static class (a thin facade).");
            var state = type.GetFields(System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
                .Where(f => !f.IsLiteral).Select(f => f.Name).ToList();
            Assert.True(state.Count == 0, $"Entry point {name} holds state ({string.Join(", ", state)}); keep it a facade over the layers below.");
        }
    }

    /// <summary>Uses that go from a lower layer to a higher one, in a stable order.</summary>
    internal static List<(TypeUse Use, LibraryLayer From, LibraryLayer To)> Upward(IEnumerable<TypeUse> uses) =>
        uses.Select(u => (Use: u, From: LibraryLayers.Of(u.From), To: LibraryLayers.Of(u.To)))
            .Where(x => x.From is not null && x.To is not null && x.To.Rank > x.From.Rank)
            .Select(x => (x.Use, x.From!, x.To!))
            .OrderBy(x => x.Use.From, StringComparer.Ordinal).ThenBy(x => x.Use.To, StringComparer.Ordinal)
            .ToList();

    /// <summary>Groups of modules that depend on each other in a cycle, with one example use per module edge.</summary>
    internal static (List<List<string>> Cycles, Dictionary<(string From, string To), TypeUse> Edges) ModuleCycles(IEnumerable<TypeUse> uses)
    {
        var edges = uses
            .Select(u => (From: LibraryLayers.ModuleOf(u.From), To: LibraryLayers.ModuleOf(u.To), u))
            .Where(e => e.From is not null && e.To is not null && e.From != e.To)
            .Select(e => (From: e.From!, To: e.To!, e.u))
            .GroupBy(e => (e.From, e.To))
            .ToDictionary(g => g.Key, g => g.First().u);
        return (StronglyConnected(edges.Keys).Where(c => c.Count > 1).ToList(), edges);
    }

    // Tarjan's algorithm; components in a deterministic order.
    private static List<List<string>> StronglyConnected(IEnumerable<(string From, string To)> edgeList)
    {
        var graph = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        foreach (var (from, to) in edgeList)
        {
            if (!graph.TryGetValue(from, out var set)) graph[from] = set = new SortedSet<string>(StringComparer.Ordinal);
            set.Add(to);
            if (!graph.ContainsKey(to)) graph[to] = new SortedSet<string>(StringComparer.Ordinal);
        }
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        int next = 0;

        void Visit(string v)
        {
            index[v] = low[v] = next++;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph[v])
            {
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w)) low[v] = Math.Min(low[v], index[w]);
            }
            if (low[v] != index[v]) return;
            var component = new List<string>();
            string x;
            do
            {
                x = stack.Pop();
                onStack.Remove(x);
                component.Add(x);
            } while (x != v);
            component.Sort(StringComparer.Ordinal);
            result.Add(component);
        }

        foreach (var v in graph.Keys) if (!index.ContainsKey(v)) Visit(v);
        return result;
    }
}

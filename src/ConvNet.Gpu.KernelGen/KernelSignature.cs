using System.Collections.Generic;

namespace ConvNet.Gpu.KernelGen;

/// <summary>The C type of one kernel parameter, as the launcher packs it (mirrors ConvNet.Gpu's KernelArgKind).</summary>
internal enum ParameterKind
{
    /// <summary><c>GPTR(T)</c> or <c>GPTR_UNIQUE(T)</c>: a device address, C# <c>ulong</c>.</summary>
    Pointer,

    /// <summary><c>int</c>: C# <c>int</c>.</summary>
    Int32,

    /// <summary><c>float</c>: C# <c>float</c>.</summary>
    Float32,

    /// <summary><c>long long</c>: C# <c>long</c>.</summary>
    Int64,

    /// <summary><c>unsigned long long</c>: C# <c>ulong</c> (an integer, never a pointer).</summary>
    UInt64,
}

/// <summary>One parameter of a kernel, in declaration order.</summary>
internal sealed class KernelParameter
{
    public KernelParameter(string name, ParameterKind kind, string cType, string? group)
    {
        Name = name;
        Kind = kind;
        CType = cType;
        Group = group;
    }

    /// <summary>The C name, e.g. "x" or "KH".</summary>
    public string Name { get; }

    public ParameterKind Kind { get; }

    /// <summary>The C spelling of the type as written, e.g. "GPTR_UNIQUE(const float)" or "long long".</summary>
    public string CType { get; }

    /// <summary>The parameter-list macro it came from (e.g. CN_GEOMETRY_PARAMS), or null when written out.</summary>
    public string? Group { get; }
}

/// <summary>One <c>CN_KERNEL</c> of a kernel file.</summary>
internal sealed class KernelSignature
{
    public KernelSignature(string file, string name, IReadOnlyList<KernelParameter> parameters, int line)
    {
        File = file;
        Name = name;
        Parameters = parameters;
        Line = line;
    }

    /// <summary>The kernel file's name, e.g. "elementwise.cu".</summary>
    public string File { get; }

    /// <summary>The extern "C" name, e.g. "cn_add".</summary>
    public string Name { get; }

    public IReadOnlyList<KernelParameter> Parameters { get; }

    /// <summary>1-based line of the declaration.</summary>
    public int Line { get; }
}

/// <summary>A parameter-list macro (<c>#define CN_X_PARAMS int N, int C, ...</c>) used by at least one kernel.</summary>
internal sealed class ParameterGroup
{
    public ParameterGroup(string macro, string file, IReadOnlyList<KernelParameter> parameters)
    {
        Macro = macro;
        File = file;
        Parameters = parameters;
    }

    public string Macro { get; }

    /// <summary>The file that defines the macro.</summary>
    public string File { get; }

    public IReadOnlyList<KernelParameter> Parameters { get; }
}

/// <summary>A kernel declaration the generator cannot turn into a launcher; reported as a build error.</summary>
internal sealed class KernelSourceError
{
    public KernelSourceError(string file, int line, string message)
    {
        File = file;
        Line = line;
        Message = message;
    }

    public string File { get; }

    /// <summary>1-based line.</summary>
    public int Line { get; }

    public string Message { get; }
}

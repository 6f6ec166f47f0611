using System;
using System.Collections.Generic;
using System.Text;
using Microsoft.CodeAnalysis.CSharp;

namespace ConvNet.Gpu.KernelGen;

/// <summary>
/// C names to C# names. A kernel <c>cn_a_b_c</c> becomes <c>ABC</c>: the <c>cn_</c> prefix dropped, each
/// underscore-separated word capitalized, and the short words of the kernel files spelled out by <see cref="Words"/>
/// (<c>cn_maxpool_fwd</c> -> <c>MaxPoolForward</c>, <c>cn_igemm_dgrad_tf32</c> -> <c>ImplicitBackwardDataTf32</c>).
/// The same words name the op families in docs/architecture.md's naming table.
/// </summary>
internal static class KernelNaming
{
    /// <summary>Word of a C name -> its C# spelling; words not listed are capitalized as they are.</summary>
    public static readonly IReadOnlyDictionary<string, string> Words = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["fwd"] = "Forward",
        ["bwd"] = "Backward",
        ["dgrad"] = "BackwardData",
        ["wgrad"] = "BackwardWeights",
        ["train"] = "Training",
        ["infer"] = "Inference",
        ["xent"] = "CrossEntropy",
        ["focal"] = "FocalLoss",
        ["maxpool"] = "MaxPool",
        ["avgpool"] = "AvgPool",
        ["batchnorm"] = "BatchNorm",
        ["act"] = "Activation",
        ["dev"] = "Device",
        ["im2col"] = "Im2Col",
        ["col2im"] = "Col2Im",
        ["igemm"] = "Implicit",
        ["dw"] = "Depthwise",
        ["shfl"] = "Shuffle",
    };

    /// <summary>The C# name of kernel <paramref name="cName"/> (a KernelNames constant and a CudaKernels method).</summary>
    public static string KernelName(string cName) =>
        Pascal(cName.StartsWith("cn_", StringComparison.Ordinal) ? cName.Substring(3) : cName);

    /// <summary>
    /// The C# struct of a parameter macro: <c>CN_GEOMETRY_PARAMS</c> -> <c>GeometryParams</c>, <c>CN_DW_PARAMS</c> ->
    /// <c>DepthwiseParams</c>.
    /// </summary>
    public static string GroupStruct(string macro)
    {
        string stem = macro.StartsWith("CN_", StringComparison.Ordinal) ? macro.Substring(3) : macro;
        if (stem.EndsWith("_PARAMS", StringComparison.Ordinal)) stem = stem.Substring(0, stem.Length - 7);
        return Pascal(stem.ToLowerInvariant()) + "Params";
    }

    /// <summary>The launcher parameter holding a parameter macro's values: <c>CN_GEOMETRY_PARAMS</c> -> <c>geometry</c>.</summary>
    public static string GroupParameter(string macro)
    {
        string type = GroupStruct(macro);
        string stem = type.Substring(0, type.Length - "Params".Length);
        return Escape(char.ToLowerInvariant(stem[0]) + stem.Substring(1));
    }

    /// <summary>A C parameter name as a C# identifier (C# keywords such as <c>in</c> and <c>out</c> get an @).</summary>
    public static string Escape(string identifier) =>
        SyntaxFacts.GetKeywordKind(identifier) != SyntaxKind.None || SyntaxFacts.GetContextualKeywordKind(identifier) == SyntaxKind.VarKeyword
            ? "@" + identifier
            : identifier;

    private static string Pascal(string snake)
    {
        var name = new StringBuilder();
        foreach (string word in snake.Split(new[] { '_' }, StringSplitOptions.RemoveEmptyEntries))
        {
            if (Words.TryGetValue(word, out string? spelled)) name.Append(spelled);
            else name.Append(char.ToUpperInvariant(word[0])).Append(word.Substring(1));
        }
        return name.ToString();
    }
}

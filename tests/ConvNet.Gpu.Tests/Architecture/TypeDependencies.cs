using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace ConvNet.Gpu.Tests.Architecture;

/// <summary>One use of a type by another inside the same assembly, with the member where it was found.</summary>
/// <param name="From">Full name of the using top-level type.</param>
/// <param name="To">Full name of the used top-level type.</param>
/// <param name="Where">The member (or "signature", "base type"...) where the use occurs.</param>
public sealed record TypeUse(string From, string To, string Where);

/// <summary>
/// Every type-to-type dependency inside one compiled assembly, read from its metadata with System.Reflection.Metadata:
/// base types and interfaces, field, method, property and local-variable signatures, custom attributes, and every
/// token in every method body (calls, field accesses, casts, allocations, ldtoken...). Nested and compiler-generated
/// types (closures, iterator and async state machines, extension blocks) count as their outermost declaring type, so
/// a lambda's dependencies are charged to the type that wrote it. Only types defined in the assembly itself are
/// reported; references to other assemblies are ignored.
/// </summary>
/// <remarks>
/// This reads what the compiler emitted, so it sees uses that the source hides: a type in namespace ConvNet.Gpu.Nn
/// sees every type of ConvNet.Gpu without a using directive, and a fully qualified name needs none either.
/// </remarks>
public sealed class TypeDependencies
{
    private static readonly Dictionary<ushort, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => unchecked((ushort)o.Value));

    private readonly MetadataReader _reader;
    private readonly Dictionary<TypeDefinitionHandle, string> _topLevelName = [];
    private readonly HashSet<(string From, string To)> _seen = [];
    private readonly List<TypeUse> _uses = [];

    private TypeDependencies(MetadataReader reader, PEReader pe)
    {
        _reader = reader;
        foreach (var h in reader.TypeDefinitions) _topLevelName[h] = TopLevelName(h);
        foreach (var h in reader.TypeDefinitions) Scan(h, pe);
        Types = _topLevelName.Values.Where(n => n.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Full names of every top-level type defined in the assembly (compiler helpers without a namespace excluded).</summary>
    public IReadOnlyList<string> Types { get; }

    /// <summary>Every (using type, used type) pair once, with the first member where it was seen; self-uses excluded.</summary>
    public IReadOnlyList<TypeUse> Uses => _uses;

    /// <summary>Reads the assembly file that defines <paramref name="assembly"/>.</summary>
    public static TypeDependencies Of(Assembly assembly)
    {
        using var stream = File.OpenRead(assembly.Location);
        using var pe = new PEReader(stream);
        return new TypeDependencies(pe.GetMetadataReader(), pe);
    }

    /// <summary>The namespace part of a full type name ("ConvNet.Gpu.Nn.Sequential" gives "ConvNet.Gpu.Nn").</summary>
    public static string NamespaceOf(string fullName)
    {
        int dot = fullName.LastIndexOf('.');
        return dot < 0 ? "" : fullName[..dot];
    }

    // "" for the assembly's helper types that live outside any namespace (<Module>, <PrivateImplementationDetails>).
    private string TopLevelName(TypeDefinitionHandle h)
    {
        var t = _reader.GetTypeDefinition(h);
        while (t.IsNested) t = _reader.GetTypeDefinition(t.GetDeclaringType());
        string ns = _reader.GetString(t.Namespace);
        return ns.Length == 0 ? "" : ns + "." + _reader.GetString(t.Name);
    }

    private void Scan(TypeDefinitionHandle handle, PEReader pe)
    {
        string from = _topLevelName[handle];
        if (from.Length == 0) return;
        var type = _reader.GetTypeDefinition(handle);
        var provider = new Collector(this);

        void Note(EntityHandle used, string where)
        {
            foreach (var to in provider.Resolve(used)) Add(from, to, where);
        }

        if (!type.BaseType.IsNil) Note(type.BaseType, "base type");
        foreach (var i in type.GetInterfaceImplementations()) Note(_reader.GetInterfaceImplementation(i).Interface, "interface");
        foreach (var gp in type.GetGenericParameters())
            foreach (var c in _reader.GetGenericParameter(gp).GetConstraints()) Note(_reader.GetGenericParameterConstraint(c).Type, "constraint");
        NoteAttributes(type.GetCustomAttributes(), "attribute", Note);

        foreach (var fh in type.GetFields())
        {
            var field = _reader.GetFieldDefinition(fh);
            string where = "field " + _reader.GetString(field.Name);
            foreach (var to in field.DecodeSignature(provider, null)) Add(from, to, where);
            NoteAttributes(field.GetCustomAttributes(), where, Note);
        }
        foreach (var ph in type.GetProperties())
        {
            var property = _reader.GetPropertyDefinition(ph);
            string where = "property " + _reader.GetString(property.Name);
            var sig = property.DecodeSignature(provider, null);
            foreach (var to in sig.ReturnType.Concat(sig.ParameterTypes.SelectMany(p => p))) Add(from, to, where);
        }
        foreach (var eh in type.GetEvents())
        {
            var ev = _reader.GetEventDefinition(eh);
            Note(ev.Type, "event " + _reader.GetString(ev.Name));
        }
        foreach (var mh in type.GetMethods())
        {
            var method = _reader.GetMethodDefinition(mh);
            string where = "method " + _reader.GetString(_reader.GetTypeDefinition(method.GetDeclaringType()).Name) + "." + _reader.GetString(method.Name);
            var sig = method.DecodeSignature(provider, null);
            foreach (var to in sig.ReturnType.Concat(sig.ParameterTypes.SelectMany(p => p))) Add(from, to, where);
            NoteAttributes(method.GetCustomAttributes(), where, Note);
            foreach (var gp in method.GetGenericParameters())
                foreach (var c in _reader.GetGenericParameter(gp).GetConstraints()) Note(_reader.GetGenericParameterConstraint(c).Type, where);
            if (method.RelativeVirtualAddress == 0) continue;
            var body = pe.GetMethodBody(method.RelativeVirtualAddress);
            if (!body.LocalSignature.IsNil)
            {
                var locals = _reader.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(provider, null);
                foreach (var to in locals.SelectMany(l => l)) Add(from, to, where);
            }
            foreach (var token in Tokens(body.GetILBytes()!))
            {
                if ((token >> 24) == 0x70) continue; // a user-string token (ldstr) names no type
                Note(MetadataTokens.EntityHandle(token), where);
            }
        }
    }

    private void NoteAttributes(CustomAttributeHandleCollection attributes, string where, Action<EntityHandle, string> note)
    {
        foreach (var a in attributes) note(_reader.GetCustomAttribute(a).Constructor, where);
    }

    private void Add(string from, string to, string where)
    {
        if (to.Length == 0 || to == from || !_seen.Add((from, to))) return;
        _uses.Add(new TypeUse(from, to, where));
    }

    // Walks the IL stream and yields every 4-byte metadata token operand (types, fields, methods, signatures, strings).
    private static IEnumerable<int> Tokens(byte[] il)
    {
        int i = 0;
        while (i < il.Length)
        {
            ushort value = il[i++];
            if (value == 0xFE) value = (ushort)(0xFE00 | il[i++]);
            if (!OpCodesByValue.TryGetValue(value, out var op))
                throw new InvalidDataException($"Unknown IL opcode 0x{value:X} at offset {i - 1}.");
            switch (op.OperandType)
            {
                case OperandType.InlineNone: break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar: i += 1; break;
                case OperandType.InlineVar: i += 2; break;
                case OperandType.InlineI or OperandType.InlineBrTarget or OperandType.ShortInlineR: i += 4; break;
                case OperandType.InlineI8 or OperandType.InlineR: i += 8; break;
                case OperandType.InlineSwitch: i += 4 + 4 * BitConverter.ToInt32(il, i); break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineSig or OperandType.InlineString
                    or OperandType.InlineTok or OperandType.InlineType:
                    yield return BitConverter.ToInt32(il, i);
                    i += 4;
                    break;
                default: throw new InvalidDataException($"Unexpected operand type {op.OperandType} of {op.Name}.");
            }
        }
    }

    /// <summary>Decodes signatures into the set of this assembly's top-level types they mention.</summary>
    private sealed class Collector(TypeDependencies owner) : ISignatureTypeProvider<ImmutableArray<string>, object?>
    {
        private static readonly ImmutableArray<string> None = [];
        private readonly MetadataReader _r = owner._reader;

        /// <summary>The top-level types a token (type, member, method or signature) refers to.</summary>
        public ImmutableArray<string> Resolve(EntityHandle handle)
        {
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                    return [owner._topLevelName[(TypeDefinitionHandle)handle]];
                case HandleKind.TypeReference:
                    return None;
                case HandleKind.TypeSpecification:
                    return _r.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(this, null);
                case HandleKind.FieldDefinition:
                    return Resolve(_r.GetFieldDefinition((FieldDefinitionHandle)handle).GetDeclaringType());
                case HandleKind.MethodDefinition:
                    return Resolve(_r.GetMethodDefinition((MethodDefinitionHandle)handle).GetDeclaringType());
                case HandleKind.MemberReference:
                {
                    var member = _r.GetMemberReference((MemberReferenceHandle)handle);
                    var parent = member.Parent.Kind == HandleKind.MethodDefinition ? None : Resolve(member.Parent);
                    var sig = member.GetKind() == MemberReferenceKind.Method
                        ? MethodTypes(member.DecodeMethodSignature(this, null))
                        : member.DecodeFieldSignature(this, null);
                    return parent.AddRange(sig);
                }
                case HandleKind.MethodSpecification:
                {
                    var spec = _r.GetMethodSpecification((MethodSpecificationHandle)handle);
                    return Resolve(spec.Method).AddRange(spec.DecodeSignature(this, null).SelectMany(t => t));
                }
                case HandleKind.StandaloneSignature:
                {
                    var sig = _r.GetStandaloneSignature((StandaloneSignatureHandle)handle);
                    return sig.GetKind() == StandaloneSignatureKind.Method
                        ? MethodTypes(sig.DecodeMethodSignature(this, null))
                        : [.. sig.DecodeLocalSignature(this, null).SelectMany(t => t)];
                }
                default:
                    return None;
            }
        }

        private static ImmutableArray<string> MethodTypes(MethodSignature<ImmutableArray<string>> sig) =>
            sig.ReturnType.AddRange(sig.ParameterTypes.SelectMany(p => p));

        public ImmutableArray<string> GetTypeFromDefinition(MetadataReader reader, TypeDefinitionHandle handle, byte rawTypeKind) =>
            [owner._topLevelName[handle]];

        public ImmutableArray<string> GetTypeFromReference(MetadataReader reader, TypeReferenceHandle handle, byte rawTypeKind) => None;

        public ImmutableArray<string> GetTypeFromSpecification(MetadataReader reader, object? context, TypeSpecificationHandle handle, byte rawTypeKind) =>
            reader.GetTypeSpecification(handle).DecodeSignature(this, context);

        public ImmutableArray<string> GetPrimitiveType(PrimitiveTypeCode typeCode) => None;
        public ImmutableArray<string> GetSZArrayType(ImmutableArray<string> elementType) => elementType;
        public ImmutableArray<string> GetArrayType(ImmutableArray<string> elementType, ArrayShape shape) => elementType;
        public ImmutableArray<string> GetByReferenceType(ImmutableArray<string> elementType) => elementType;
        public ImmutableArray<string> GetPointerType(ImmutableArray<string> elementType) => elementType;
        public ImmutableArray<string> GetPinnedType(ImmutableArray<string> elementType) => elementType;
        public ImmutableArray<string> GetGenericInstantiation(ImmutableArray<string> genericType, ImmutableArray<ImmutableArray<string>> typeArguments) =>
            genericType.AddRange(typeArguments.SelectMany(t => t));
        public ImmutableArray<string> GetGenericMethodParameter(object? context, int index) => None;
        public ImmutableArray<string> GetGenericTypeParameter(object? context, int index) => None;
        public ImmutableArray<string> GetFunctionPointerType(MethodSignature<ImmutableArray<string>> signature) => MethodTypes(signature);
        public ImmutableArray<string> GetModifiedType(ImmutableArray<string> modifier, ImmutableArray<string> unmodifiedType, bool isRequired) =>
            modifier.AddRange(unmodifiedType);
    }
}

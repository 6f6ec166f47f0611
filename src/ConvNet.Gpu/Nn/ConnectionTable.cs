using System.Text;

namespace ConvNet.Gpu.Nn;

/// <summary>
/// Which input maps feed which output maps of a convolution (LeNet-5's C3 uses a partial table so that
/// different maps see different inputs). Unconnected kernels are held at zero: their weights start at zero and
/// their gradients are masked, so they never move and are not counted as parameters.
/// </summary>
public sealed class ConnectionTable
{
    private readonly bool[,] _connected;

    /// <summary>Creates a table; <c>connected[input, output]</c> is true when the input map feeds the output map.</summary>
    public ConnectionTable(bool[,] connected)
    {
        ArgumentNullException.ThrowIfNull(connected);
        _connected = (bool[,])connected.Clone();
        for (int o = 0; o < Outputs; o++)
        {
            bool any = false;
            for (int i = 0; i < Inputs; i++) any |= _connected[i, o];
            if (!any)
                throw new ConvNetArgumentException($"Connection table: output map {o} has no input map; every output needs at least one.");
        }
    }

    /// <summary>Number of input maps (rows).</summary>
    public int Inputs => _connected.GetLength(0);

    /// <summary>Number of output maps (columns).</summary>
    public int Outputs => _connected.GetLength(1);

    /// <summary>Whether input map <paramref name="input"/> feeds output map <paramref name="output"/>.</summary>
    public bool IsConnected(int input, int output) => _connected[input, output];

    /// <summary>Number of connected (input, output) pairs.</summary>
    public int ConnectionCount
    {
        get
        {
            int n = 0;
            foreach (bool b in _connected) if (b) n++;
            return n;
        }
    }

    /// <summary>
    /// Parses rows (one per input map) of 'X' (connected) and '.' or '-' (not connected), spaces ignored,
    /// e.g. "X...XXX..XXXX.XX".
    /// </summary>
    public static ConnectionTable Parse(IReadOnlyList<string> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0) throw new ConvNetArgumentException("Connection table: no rows.");
        var cleaned = rows.Select(r => r.Replace(" ", "", StringComparison.Ordinal)).ToArray();
        int outputs = cleaned[0].Length;
        var table = new bool[cleaned.Length, outputs];
        for (int i = 0; i < cleaned.Length; i++)
        {
            if (cleaned[i].Length != outputs)
                throw new ConvNetArgumentException($"Connection table: row {i} has {cleaned[i].Length} entries, row 0 has {outputs}.");
            for (int o = 0; o < outputs; o++)
            {
                char ch = cleaned[i][o];
                table[i, o] = ch switch
                {
                    'X' or 'x' => true,
                    '.' or '-' => false,
                    _ => throw new ConvNetArgumentException($"Connection table: row {i} column {o} is '{ch}'; use 'X' or '.'."),
                };
            }
        }
        return new ConnectionTable(table);
    }

    /// <summary>The rows in the format <see cref="Parse"/> reads.</summary>
    public string[] ToRows()
    {
        var rows = new string[Inputs];
        for (int i = 0; i < Inputs; i++)
        {
            var sb = new StringBuilder(Outputs);
            for (int o = 0; o < Outputs; o++) sb.Append(_connected[i, o] ? 'X' : '.');
            rows[i] = sb.ToString();
        }
        return rows;
    }

    /// <summary>
    /// LeNet-5's C3 table (LeCun et al. 1998, Table I): 6 S2 maps to 16 C3 maps. Maps 0-5 see 3 contiguous inputs,
    /// 6-11 see 4 contiguous, 12-14 see 4 non-contiguous and 15 sees all 6.
    /// </summary>
    public static ConnectionTable LeNet5C3 { get; } = Parse([
        "X...XXX..XXXX.XX",
        "XX...XXX..XXXX.X",
        "XXX...XXX..X.XXX",
        ".XXX..XXXX..X.XX",
        "..XXX..XXXX.XX.X",
        "...XXX..XXXX.XXX",
    ]);

    /// <summary>The weight mask for a (outputs, inputs, kh, kw) weight: 1 for connected kernels, 0 otherwise.</summary>
    internal float[] WeightMask(int kh, int kw)
    {
        var mask = new float[Outputs * Inputs * kh * kw];
        int plane = kh * kw;
        for (int o = 0; o < Outputs; o++)
            for (int i = 0; i < Inputs; i++)
                if (_connected[i, o])
                    mask.AsSpan((o * Inputs + i) * plane, plane).Fill(1f);
        return mask;
    }
}

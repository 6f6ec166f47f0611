namespace ConvNet.Gpu.Backends.Cpu.Conv;

/// <summary>A strided 2-D view of one phase of a (channels, rows, cols) tensor: element (ch, i, j) at Base[ch*ChannelStep + i*RowStep + j*ColStep].</summary>
internal readonly unsafe struct PhaseView(float* origin, long channelStep, int rowStep, int colStep, int rows, int cols)
{
    public float* Base { get; } = origin;
    public long ChannelStep { get; } = channelStep;
    public int RowStep { get; } = rowStep;
    public int ColStep { get; } = colStep;
    public int Rows { get; } = rows;
    public int Cols { get; } = cols;
}

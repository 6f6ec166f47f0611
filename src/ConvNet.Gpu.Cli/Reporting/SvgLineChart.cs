using System.Globalization;
using System.Net;
using System.Text;

namespace ConvNet.Gpu.Cli.Reporting;

/// <summary>One line of a chart: a name for the legend, a CSS color and (x, y) points in x order.</summary>
internal sealed record ChartSeries(string Name, string Color, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// Draws a line chart as inline SVG: axes with "nice" ticks, grid lines, one polyline with point markers per series,
/// and a legend. Self-contained (no scripts, no external fonts); a single point per series still shows as a marker.
/// </summary>
internal static class SvgLineChart
{
    private const int Width = 500, Height = 300;
    private const int Left = 64, Right = 16, Top = 36, Bottom = 48;

    /// <summary>Renders the chart; <paramref name="yAsPercent"/> labels y ticks as percentages of 1.</summary>
    public static string Render(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, bool yAsPercent = false)
    {
        var all = series.SelectMany(s => s.Points).Where(p => double.IsFinite(p.Y)).ToList();
        double xMin = all.Count == 0 ? 0 : all.Min(p => p.X), xMax = all.Count == 0 ? 1 : all.Max(p => p.X);
        double yMin = all.Count == 0 ? 0 : all.Min(p => p.Y), yMax = all.Count == 0 ? 1 : all.Max(p => p.Y);
        if (xMax - xMin < 1) { xMin = Math.Max(0, xMin - 0.5); xMax = xMin + 1; } // integer epochs: at least one unit wide
        if (yMax - yMin < 1e-9) { yMin -= 0.05 * Math.Max(1e-3, Math.Abs(yMin)); yMax += 0.05 * Math.Max(1e-3, Math.Abs(yMax)); }
        double[] yTicks = NiceTicks(yMin, yMax, 5);
        yMin = Math.Min(yMin, yTicks[0]);
        yMax = Math.Max(yMax, yTicks[^1]);
        double[] xTicks = NiceTicks(xMin, xMax, Math.Min(10, (int)Math.Ceiling(xMax - xMin) + 1), integers: true);

        double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
        double Px(double x) => Left + (x - xMin) / (xMax - xMin) * plotW;
        double Py(double y) => Top + (1 - (y - yMin) / (yMax - yMin)) * plotH;

        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture,
            $"<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {Width} {Height}\" width=\"{Width}\" height=\"{Height}\" role=\"img\" aria-label=\"{Esc(title)}\">");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"18\" class=\"chart-title\">{Esc(title)}</text>");

        foreach (double t in yTicks)
        {
            string y = F(Py(t));
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y}\" y2=\"{y}\" class=\"grid\"/>");
            string label = yAsPercent ? (t * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%" : FormatTick(t, yTicks);
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left - 6}\" y=\"{y}\" dy=\"0.32em\" text-anchor=\"end\" class=\"tick\">{label}</text>");
        }
        foreach (double t in xTicks)
        {
            string x = F(Px(t));
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{x}\" x2=\"{x}\" y1=\"{Top + plotH}\" y2=\"{Top + plotH + 4}\" class=\"axis\"/>");
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{x}\" y=\"{Top + plotH + 17}\" text-anchor=\"middle\" class=\"tick\">{FormatTick(t, xTicks)}</text>");
        }
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{F(plotW)}\" height=\"{F(plotH)}\" class=\"frame\"/>");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + plotW / 2}\" y=\"{Height - 8}\" text-anchor=\"middle\" class=\"axis-label\">{Esc(xLabel)}</text>");
        svg.Append(CultureInfo.InvariantCulture,
            $"<text transform=\"translate(14 {F(Top + plotH / 2)}) rotate(-90)\" text-anchor=\"middle\" class=\"axis-label\">{Esc(yLabel)}</text>");

        foreach (ChartSeries s in series)
        {
            var pts = s.Points.Where(p => double.IsFinite(p.Y)).ToList();
            if (pts.Count > 1)
            {
                string path = string.Join(" ", pts.Select(p => $"{F(Px(p.X))},{F(Py(p.Y))}"));
                svg.Append(CultureInfo.InvariantCulture, $"<polyline points=\"{path}\" fill=\"none\" stroke=\"{s.Color}\" stroke-width=\"2.2\" class=\"series\"/>");
            }
            foreach (var p in pts)
                svg.Append(CultureInfo.InvariantCulture,
                    $"<circle cx=\"{F(Px(p.X))}\" cy=\"{F(Py(p.Y))}\" r=\"3.2\" fill=\"{s.Color}\"><title>{Esc(s.Name)}: epoch {p.X:0}, {(yAsPercent ? (p.Y * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%" : p.Y.ToString("0.0000", CultureInfo.InvariantCulture))}</title></circle>");
        }

        // Legend: one row above the plot's top-right corner, so it never hides a line.
        double lx = Width - Right - 70 * series.Count, ly = Top - 10;
        for (int i = 0; i < series.Count; i++)
        {
            double x = lx + i * 70;
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{F(x)}\" x2=\"{F(x + 18)}\" y1=\"{F(ly)}\" y2=\"{F(ly)}\" stroke=\"{series[i].Color}\" stroke-width=\"3\"/>");
            svg.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{F(x + 23)}\" y=\"{F(ly)}\" dy=\"0.32em\" class=\"legend\">{Esc(series[i].Name)}</text>");
        }
        svg.Append("</svg>");
        return svg.ToString();
    }

    /// <summary>About <paramref name="count"/> round tick values (1, 2 or 5 times a power of ten) covering [min, max].</summary>
    internal static double[] NiceTicks(double min, double max, int count, bool integers = false)
    {
        count = Math.Max(2, count);
        double raw = (max - min) / (count - 1);
        double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        double step = new[] { 1.0, 2.0, 2.5, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw * 0.999);
        if (integers) step = Math.Max(1, Math.Round(step));
        double first = Math.Floor(min / step) * step, last = Math.Ceiling(max / step) * step;
        var ticks = new List<double>();
        for (double t = first; t <= last + step * 1e-6; t += step) ticks.Add(Math.Round(t / step) * step);
        return ticks.ToArray();
    }

    private static string FormatTick(double value, double[] ticks)
    {
        double step = ticks.Length > 1 ? ticks[1] - ticks[0] : 1;
        int decimals = step >= 1 ? 0 : Math.Min(6, (int)Math.Ceiling(-Math.Log10(step) - 1e-9));
        return value.ToString("F" + decimals, CultureInfo.InvariantCulture);
    }

    private static string F(double v) => v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Esc(string s) => WebUtility.HtmlEncode(s);
}

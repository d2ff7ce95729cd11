import uPlot from "uplot";

/** A ChatKit `Chart` widget's props, as far as they are drawn here. */
export interface ChartProps {
  data: Array<Record<string, unknown>>;
  series: Array<{ type?: string; dataKey: string; label?: string; color?: string }>;
  xAxis: string | { dataKey: string; hide?: boolean; labels?: Record<string, string> };
  showYAxis?: boolean;
  showLegend?: boolean;
  height?: number;
}

const NAMED_COLORS = ["blue", "orange", "green", "purple", "red", "yellow", "pink", "teal", "gray"];

/** A series colour: a CSS colour as given, a named one from the theme's chart palette, else the palette in order. */
function seriesColor(style: CSSStyleDeclaration, color: string | undefined, index: number): string {
  const named = color ? NAMED_COLORS.indexOf(color) : -1;
  if (color && named < 0 && /^(#[0-9a-f]{3,8}|rgba?\([\d\s.,%]+\)|hsla?\([\d\s.,%deg]+\))$/i.test(color)) return color;
  const slot = named >= 0 ? named : index;
  return style.getPropertyValue(`--ck-chart-${slot % NAMED_COLORS.length}`).trim() || "#1a56db";
}

const number = (value: unknown) => (typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value)) ? Number(value) : null);

/**
 * Draws a Chart widget with uPlot (bundled, loaded with the first chart): one point per data row
 * along a category x axis, `bar`, `line` or `area` series. Redrawn at the container's width.
 * Returns the function that removes it.
 */
export function drawChart(container: HTMLElement, props: ChartProps): () => void {
  const style = getComputedStyle(container);
  const xKey = typeof props.xAxis === "string" ? props.xAxis : props.xAxis.dataKey;
  const labels = typeof props.xAxis === "string" ? undefined : props.xAxis.labels;
  const categories = props.data.map((row) => {
    const raw = String(row[xKey] ?? "");
    return labels?.[raw] ?? raw;
  });
  const xs = props.data.map((_, i) => i);
  const text = style.getPropertyValue("--ck-muted").trim() || "#5f6068";
  const grid = style.getPropertyValue("--ck-border").trim() || "#dcdce0";
  const bars = props.series.filter((s) => s.type === "bar");
  const font = `12px ${style.fontFamily}`;
  const options: uPlot.Options = {
    width: Math.max(200, container.clientWidth),
    height: props.height ?? 220,
    legend: { show: props.showLegend !== false, live: false },
    cursor: { drag: { x: false, y: false }, points: { show: false } },
    scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
    axes: [
      {
        show: typeof props.xAxis === "string" || !props.xAxis.hide,
        stroke: text,
        font,
        grid: { show: false },
        ticks: { stroke: grid },
        splits: () => xs,
        values: (_u, splits) => splits.map((i) => categories[i] ?? ""),
      },
      { show: props.showYAxis !== false, stroke: text, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
    ],
    series: [
      { label: xKey },
      ...props.series.map((s, i) => {
        const color = seriesColor(style, s.color, i);
        const bar = s.type === "bar";
        const barIndex = bars.indexOf(s);
        return {
          label: s.label ?? s.dataKey,
          stroke: color,
          width: bar ? 0 : 2,
          fill: bar ? color : s.type === "area" ? (/^#[0-9a-f]{6}$/i.test(color) ? `${color}40` : color) : undefined,
          points: { show: !bar && props.data.length <= 24, fill: color },
          ...(bar
            ? { paths: uPlot.paths.bars!({ size: [bars.length > 1 ? 0.4 : 0.6, 64], align: bars.length === 2 ? (barIndex === 0 ? -1 : 1) : 0 }) }
            : {}),
        } satisfies uPlot.Series;
      }),
    ],
  };
  const data: uPlot.AlignedData = [xs, ...props.series.map((s) => props.data.map((row) => number(row[s.dataKey])))];
  const plot = new uPlot(options, data, container);
  const resize = new ResizeObserver(() => {
    const width = Math.max(200, container.clientWidth);
    if (width !== plot.width) plot.setSize({ width, height: options.height });
  });
  resize.observe(container);
  return () => {
    resize.disconnect();
    plot.destroy();
  };
}

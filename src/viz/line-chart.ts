/**
 * Line charts as self-contained SVG strings (loss curves, learning rates): nice axis ticks,
 * optional log y axis, a legend, and gaps where values are missing. Output is deterministic.
 */

import { type Axis, coord, escapeXml, logTicks, niceTicks, PALETTE } from "./svg.js";

/**
 * One line: a name for the legend and its (x, y) points. Points with a non-finite coordinate
 * (or y ≤ 0 on a log axis) are skipped and break the line.
 *
 * @example
 * ```ts
 * const s: LineSeries = { name: "train loss", points: [[0, 4.2], [100, 2.9]] };
 * ```
 */
export interface LineSeries {
  name: string;
  points: readonly (readonly [number, number])[];
  /** CSS colour; default: the palette colour for the series' position. */
  color?: string;
}

/**
 * Options for {@link lineChartSvg}.
 *
 * @example
 * ```ts
 * const opts: LineChartOptions = { title: "Loss", xLabel: "step", yLabel: "loss", logY: true };
 * ```
 */
export interface LineChartOptions {
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Total width in px. Default 640. */
  width?: number;
  /** Total height in px. Default 400. */
  height?: number;
  /** Log10 y axis. Default false. */
  logY?: boolean;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const CHAR_W = 6.5; // approximate width of one 11px character

/** The chart's accessible name: its title, else what it plots ("line chart of train, val"). */
function chartLabel(series: readonly LineSeries[], opts: LineChartOptions): string {
  if (opts.title) return opts.title;
  const names = series.map((s) => s.name).join(", ");
  return names === "" ? "line chart" : `line chart of ${names}`;
}

/**
 * Renders line series as an SVG document string. The same input always gives the same bytes.
 * Empty input (or no finite points) renders the axes with a "no data" note.
 *
 * @example
 * ```ts
 * const svg = lineChartSvg(
 *   [{ name: "train", points: [[0, 4.1], [50, 2.7], [100, 2.2]] }, { name: "val", points: [[0, 4.2], [100, 2.4]] }],
 *   { title: "Loss", xLabel: "step", yLabel: "loss" },
 * );
 * await writeFile("loss.svg", svg);
 * ```
 */
export function lineChartSvg(series: readonly LineSeries[], opts: LineChartOptions = {}): string {
  const width = opts.width ?? 640;
  const height = opts.height ?? 400;
  if (!(width > 0 && height > 0))
    throw new Error(`lineChartSvg: width and height must be positive, got ${width}×${height}`);
  const logY = opts.logY ?? false;
  const usable = (x: number, y: number): boolean =>
    Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0);

  let xMin = Number.POSITIVE_INFINITY;
  let xMax = Number.NEGATIVE_INFINITY;
  let yMin = Number.POSITIVE_INFINITY;
  let yMax = Number.NEGATIVE_INFINITY;
  for (const s of series) {
    for (const [x, y] of s.points) {
      if (!usable(x, y)) continue;
      xMin = Math.min(xMin, x);
      xMax = Math.max(xMax, x);
      yMin = Math.min(yMin, y);
      yMax = Math.max(yMax, y);
    }
  }
  const hasData = xMin <= xMax;
  const xAxis: Axis = hasData ? niceTicks(xMin, xMax, 6) : niceTicks(0, 1, 6);
  const yAxis: Axis = logY
    ? hasData
      ? logTicks(yMin, yMax)
      : logTicks(1, 10)
    : hasData
      ? niceTicks(yMin, yMax, 5)
      : niceTicks(0, 1, 5);

  const named = series.filter((s) => s.name !== "");
  const legendW =
    named.length > 0 ? Math.min(220, Math.max(...named.map((s) => s.name.length)) * CHAR_W + 30) : 0;
  const yLabelW = Math.max(...yAxis.ticks.map((t) => t.label.length)) * CHAR_W;
  const left = Math.ceil(yLabelW + 14 + (opts.yLabel ? 20 : 0));
  const top = opts.title ? 36 : 14;
  const right = 16 + legendW;
  const bottom = 34 + (opts.xLabel ? 18 : 0);
  const pw = Math.max(10, width - left - right);
  const ph = Math.max(10, height - top - bottom);
  const sx = (x: number): number => left + ((x - xAxis.min) / (xAxis.max - xAxis.min)) * pw;
  const sy = (y: number): number => {
    const v = logY ? Math.log10(y) : y;
    return top + ph - ((v - yAxis.min) / (yAxis.max - yAxis.min)) * ph;
  };
  const syAxis = (v: number): number => top + ph - ((v - yAxis.min) / (yAxis.max - yAxis.min)) * ph;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${coord(width)}" height="${coord(height)}" viewBox="0 0 ${coord(width)} ${coord(height)}" ${FONT} font-size="11" role="img" aria-label="${escapeXml(chartLabel(series, opts))}">`,
  );
  out.push(`<rect x="0" y="0" width="${coord(width)}" height="${coord(height)}" fill="#ffffff"/>`);
  if (opts.title) {
    out.push(
      `<text x="${coord(left + pw / 2)}" y="22" text-anchor="middle" font-size="14" font-weight="600" fill="#222222">${escapeXml(opts.title)}</text>`,
    );
  }
  // Grid and tick labels.
  out.push('<g stroke="#e6e6e6" stroke-width="1">');
  for (const t of xAxis.ticks)
    out.push(
      `<line x1="${coord(sx(t.value))}" y1="${coord(top)}" x2="${coord(sx(t.value))}" y2="${coord(top + ph)}"/>`,
    );
  for (const t of yAxis.ticks)
    out.push(
      `<line x1="${coord(left)}" y1="${coord(syAxis(t.value))}" x2="${coord(left + pw)}" y2="${coord(syAxis(t.value))}"/>`,
    );
  out.push("</g>");
  out.push(
    `<rect x="${coord(left)}" y="${coord(top)}" width="${coord(pw)}" height="${coord(ph)}" fill="none" stroke="#888888" stroke-width="1"/>`,
  );
  out.push('<g fill="#444444">');
  for (const t of xAxis.ticks) {
    out.push(
      `<text x="${coord(sx(t.value))}" y="${coord(top + ph + 15)}" text-anchor="middle">${escapeXml(t.label)}</text>`,
    );
  }
  for (const t of yAxis.ticks) {
    out.push(
      `<text x="${coord(left - 6)}" y="${coord(syAxis(t.value) + 4)}" text-anchor="end">${escapeXml(t.label)}</text>`,
    );
  }
  out.push("</g>");
  if (opts.xLabel) {
    out.push(
      `<text x="${coord(left + pw / 2)}" y="${coord(height - 8)}" text-anchor="middle" fill="#222222">${escapeXml(opts.xLabel)}</text>`,
    );
  }
  if (opts.yLabel) {
    const cy = coord(top + ph / 2);
    out.push(
      `<text x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})" fill="#222222">${escapeXml(opts.yLabel)}</text>`,
    );
  }
  if (!hasData) {
    out.push(
      `<text x="${coord(left + pw / 2)}" y="${coord(top + ph / 2)}" text-anchor="middle" fill="#999999">no data</text>`,
    );
  }

  // Lines: one path per series, split at unusable points; lone points become dots.
  series.forEach((s, i) => {
    const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]);
    const segments: [number, number][][] = [];
    let cur: [number, number][] = [];
    for (const [x, y] of s.points) {
      if (usable(x, y)) cur.push([sx(x), sy(y)]);
      else if (cur.length > 0) {
        segments.push(cur);
        cur = [];
      }
    }
    if (cur.length > 0) segments.push(cur);
    const d = segments
      .filter((seg) => seg.length > 1)
      .map((seg) => seg.map(([x, y], j) => `${j === 0 ? "M" : "L"}${coord(x)} ${coord(y)}`).join(""))
      .join("");
    if (d)
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="1.75" stroke-linejoin="round"/>`);
    for (const seg of segments) {
      if (seg.length === 1)
        out.push(`<circle cx="${coord(seg[0][0])}" cy="${coord(seg[0][1])}" r="2.5" fill="${color}"/>`);
    }
  });

  // Legend, right of the plot.
  if (named.length > 0) {
    const lx = left + pw + 12;
    let ly = top + 6;
    series.forEach((s, i) => {
      if (s.name === "") return;
      const color = escapeXml(s.color ?? PALETTE[i % PALETTE.length]);
      const maxChars = Math.floor((legendW - 30) / CHAR_W);
      const chars = Array.from(s.name);
      const name =
        chars.length > maxChars ? `${chars.slice(0, Math.max(1, maxChars - 1)).join("")}…` : s.name;
      out.push(
        `<line x1="${coord(lx)}" y1="${coord(ly)}" x2="${coord(lx + 18)}" y2="${coord(ly)}" stroke="${color}" stroke-width="2.5"/>`,
      );
      out.push(`<text x="${coord(lx + 24)}" y="${coord(ly + 4)}" fill="#222222">${escapeXml(name)}</text>`);
      ly += 18;
    });
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

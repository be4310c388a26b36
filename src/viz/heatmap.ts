/**
 * Heatmaps as self-contained SVG strings, for attention maps: one viridis cell per value with a
 * tooltip, row labels on the left, column labels on top, and a colour bar. Deterministic.
 */

import { coord, escapeXml, formatNumber, viridis } from "./svg.js";

/**
 * Options for {@link heatmapSvg}.
 *
 * @example
 * ```ts
 * const opts: HeatmapOptions = { rowLabels: ["The", "cat"], colLabels: ["The", "cat"], title: "layer 0, head 3" };
 * ```
 */
export interface HeatmapOptions {
  /** One label per row (e.g. query tokens). */
  rowLabels?: readonly string[];
  /** One label per column (e.g. key tokens). */
  colLabels?: readonly string[];
  title?: string;
  /** Cell side in px. Default: fits the larger dimension in about 480 px, between 4 and 40. */
  cellSize?: number;
  /** Value mapped to the darkest colour. Default: the smallest finite value. */
  min?: number;
  /** Value mapped to the brightest colour. Default: the largest finite value. */
  max?: number;
  /** Print each value inside its cell (only when cells are at least 24 px). Default false. */
  showValues?: boolean;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
const CHAR_W = 6; // approximate width of one 10px character

function clip(label: string, max = 24): string {
  const chars = Array.from(label);
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : label;
}

/**
 * Renders a matrix (rows × columns, e.g. attention weights query × key) as an SVG document
 * string. Non-finite values are drawn grey; an empty matrix renders a "no data" note.
 *
 * @example
 * ```ts
 * const svg = heatmapSvg([[1, 0], [0.3, 0.7]], { rowLabels: ["a", "b"], colLabels: ["a", "b"], title: "attention" });
 * ```
 */
export function heatmapSvg(matrix: readonly (readonly number[])[], opts: HeatmapOptions = {}): string {
  const rows = matrix.length;
  const cols = rows > 0 ? matrix[0].length : 0;
  matrix.forEach((row, r) => {
    if (row.length !== cols)
      throw new Error(`heatmapSvg: row ${r} has ${row.length} values, row 0 has ${cols}`);
  });
  if (opts.rowLabels && opts.rowLabels.length !== rows) {
    throw new Error(`heatmapSvg: ${opts.rowLabels.length} row labels for ${rows} rows`);
  }
  if (opts.colLabels && opts.colLabels.length !== cols) {
    throw new Error(`heatmapSvg: ${opts.colLabels.length} column labels for ${cols} columns`);
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const row of matrix) {
    for (const v of row) {
      if (!Number.isFinite(v)) continue;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
  }
  if (opts.min !== undefined) lo = opts.min;
  if (opts.max !== undefined) hi = opts.max;
  const hasValues = lo <= hi;
  const t = (v: number): number => (hi > lo ? (v - lo) / (hi - lo) : 0.5);

  const cell = opts.cellSize ?? Math.max(4, Math.min(40, Math.floor(480 / Math.max(1, rows, cols))));
  const rowLabels = (opts.rowLabels ?? []).map((l) => clip(l));
  const colLabels = (opts.colLabels ?? []).map((l) => clip(l));
  const rowLabelW =
    rowLabels.length > 0 ? Math.max(...rowLabels.map((l) => Array.from(l).length)) * CHAR_W + 8 : 0;
  const colLabelH =
    colLabels.length > 0 ? Math.max(...colLabels.map((l) => Array.from(l).length)) * CHAR_W * 0.71 + 14 : 0;
  const left = 10 + rowLabelW;
  const top = (opts.title ? 30 : 10) + colLabelH;
  const gridW = cols * cell;
  const gridH = rows * cell;
  const barX = left + gridW + 16;
  const barH = Math.max(gridH, 60);
  const width = Math.ceil(barX + 14 + 60);
  const height = Math.ceil(top + Math.max(gridH, barH) + 12);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="10" role="img" aria-label="${escapeXml(opts.title ?? `heatmap, ${rows} × ${cols}`)}">`,
  );
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  if (opts.title) {
    out.push(
      `<text x="10" y="20" font-size="13" font-weight="600" fill="#222222">${escapeXml(opts.title)}</text>`,
    );
  }
  if (rows === 0 || cols === 0) {
    out.push(`<text x="${coord(left)}" y="${coord(top + 20)}" fill="#999999">no data</text>`);
  }
  // Cells.
  out.push("<g>");
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = matrix[r][c];
      const fill = Number.isFinite(v) ? viridis(t(v)) : "#cccccc";
      const x = left + c * cell;
      const y = top + r * cell;
      const label = `${opts.rowLabels?.[r] ?? r} → ${opts.colLabels?.[c] ?? c}: ${formatNumber(v)}`;
      out.push(
        `<rect x="${coord(x)}" y="${coord(y)}" width="${coord(cell)}" height="${coord(cell)}" fill="${fill}"><title>${escapeXml(label)}</title></rect>`,
      );
      if (opts.showValues && cell >= 24 && Number.isFinite(v)) {
        const ink = t(v) > 0.6 ? "#000000" : "#ffffff";
        out.push(
          `<text x="${coord(x + cell / 2)}" y="${coord(y + cell / 2 + 3)}" text-anchor="middle" font-size="9" fill="${ink}">${escapeXml(formatNumber(v, 2))}</text>`,
        );
      }
    }
  }
  out.push("</g>");
  // Labels.
  out.push('<g fill="#333333">');
  rowLabels.forEach((l, r) => {
    out.push(
      `<text x="${coord(left - 4)}" y="${coord(top + r * cell + cell / 2 + 3.5)}" text-anchor="end">${escapeXml(l)}</text>`,
    );
  });
  colLabels.forEach((l, c) => {
    const x = coord(left + c * cell + cell / 2 + 3);
    const y = coord(top - 4);
    out.push(`<text x="${x}" y="${y}" transform="rotate(-45 ${x} ${y})">${escapeXml(l)}</text>`);
  });
  out.push("</g>");
  // Colour bar: stacked bands from max (top) to min (bottom), with end labels.
  if (hasValues && rows > 0 && cols > 0) {
    const bands = 32;
    out.push("<g>");
    for (let i = 0; i < bands; i++) {
      const y = top + (i * barH) / bands;
      out.push(
        `<rect x="${coord(barX)}" y="${coord(y)}" width="12" height="${coord(barH / bands + 0.5)}" fill="${viridis(1 - (i + 0.5) / bands)}"/>`,
      );
    }
    out.push("</g>");
    out.push(
      `<text x="${coord(barX + 16)}" y="${coord(top + 8)}" fill="#333333">${escapeXml(formatNumber(hi, 3))}</text>`,
    );
    out.push(
      `<text x="${coord(barX + 16)}" y="${coord(top + barH)}" fill="#333333">${escapeXml(formatNumber(lo, 3))}</text>`,
    );
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

/**
 * Browser-safe SVG charts: line charts for training curves and heatmaps for attention maps,
 * plus the axis/colour helpers they share. Every function returns a deterministic string.
 */

export { type HeatmapOptions, heatmapSvg } from "./heatmap.js";
export { type LineChartOptions, type LineSeries, lineChartSvg } from "./line-chart.js";
export { type Axis, escapeXml, formatNumber, logTicks, niceTicks, PALETTE, viridis } from "./svg.js";

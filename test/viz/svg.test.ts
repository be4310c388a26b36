/**
 * SVG charts: well-formed XML (checked by a small tag-balance parser), deterministic output,
 * escaping, nice and log ticks, and graceful handling of NaN, empty and degenerate data.
 */

import { describe, expect, it } from "vitest";
import {
  escapeXml,
  formatNumber,
  heatmapSvg,
  lineChartSvg,
  logTicks,
  niceTicks,
  viridis,
} from "../../src/viz/index.js";

/**
 * Throws unless `svg` is one well-formed <svg> element: balanced tags, quoted attributes, clean
 * text, and no non-finite number in any attribute (tooltips may say "NaN").
 */
function checkWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  let roots = 0;
  while (i < svg.length) {
    const lt = svg.indexOf("<", i);
    const text = svg.slice(i, lt < 0 ? svg.length : lt);
    if (/&(?!(amp|lt|gt|quot|#39);)/.test(text) || text.includes(">"))
      throw new Error(`bad text ${JSON.stringify(text)}`);
    if (text.trim() !== "" && stack.length === 0)
      throw new Error(`text outside the root: ${JSON.stringify(text)}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    if (!m) throw new Error(`malformed tag at ${lt}: ${svg.slice(lt, lt + 60)}`);
    const [, close, name, attrs, self] = m;
    if (/&(?!(amp|lt|gt|quot|#39);)/.test(attrs)) throw new Error(`bad attribute text in <${name}>`);
    if (/NaN|Infinity|undefined/.test(attrs))
      throw new Error(`a non-finite number leaked into <${name}${attrs}>`);
    if (close) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
    } else if (!self) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
    i = lt + m[0].length;
  }
  if (stack.length > 0) throw new Error(`unclosed <${stack.join("><")}>`);
  if (roots !== 1 || !svg.startsWith("<svg ")) throw new Error("expected a single <svg> root");
  if (svg.includes("undefined")) throw new Error("undefined leaked into the SVG");
}

const count = (s: string, re: RegExp): number => (s.match(re) ?? []).length;

describe("helpers", () => {
  it("escapes markup and strips characters XML forbids", () => {
    expect(escapeXml(`a<b>&"c"'d'`)).toBe("a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
    expect(escapeXml("x\u0001y\ud800z😀")).toBe("x\ufffdy\ufffdz😀");
  });

  it("chooses nice linear ticks covering the data", () => {
    const a = niceTicks(0.3, 9.2);
    expect([a.min, a.max]).toEqual([0, 10]);
    expect(a.ticks.map((t) => t.label)).toEqual(["0", "2", "4", "6", "8", "10"]);
    expect(niceTicks(0, 1).ticks.map((t) => t.label)).toEqual(["0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    expect(niceTicks(-0.013, 0.021).ticks.map((t) => t.label)).toEqual([
      "-0.02",
      "-0.01",
      "0",
      "0.01",
      "0.02",
      "0.03",
    ]);
    const flat = niceTicks(5, 5);
    expect(flat.min).toBeLessThan(5);
    expect(flat.max).toBeGreaterThan(5);
    expect(niceTicks(0, 2e7).ticks.at(-1)?.label).toBe("2e7");
  });

  it("chooses decade ticks on a log axis", () => {
    expect(logTicks(0.02, 3).ticks.map((t) => t.label)).toEqual(["0.01", "0.1", "1", "10"]);
    expect(logTicks(2, 8).ticks.map((t) => t.label)).toEqual(["1", "2", "5", "10"]);
    expect(logTicks(2e-5, 8e-4).ticks.map((t) => t.label)).toEqual(["1e-5", "1e-4", "1e-3"]);
    expect(logTicks(3, 9e4).ticks.map((t) => t.label)).toEqual(["1", "10", "100", "1000", "10000", "100000"]);
    const wide = logTicks(1e-12, 1e12);
    expect(wide.ticks.length).toBeLessThanOrEqual(9);
    expect(wide.ticks[0].label).toBe("1e-12");
  });

  it("formats numbers and colours deterministically", () => {
    expect(formatNumber(0.000123)).toBe("1.23e-4");
    expect(formatNumber(2.5)).toBe("2.5");
    expect(formatNumber(123456789)).toBe("1.235e8");
    expect(formatNumber(100000, 3)).toBe("100000");
    expect(formatNumber(9999.7)).toBe("10000");
    expect(formatNumber(-0.5)).toBe("-0.5");
    expect(viridis(0)).toBe("#440154");
    expect(viridis(1)).toBe("#fde725");
    expect(viridis(Number.NaN)).toBe("#440154");
  });
});

describe("lineChartSvg", () => {
  const series = [
    {
      name: "train <loss>",
      points: Array.from({ length: 50 }, (_, i) => [i * 10, 4 * Math.exp(-i / 15) + 1] as [number, number]),
    },
    {
      name: "val & co",
      points: [
        [0, 4.2],
        [250, 2.1],
        [490, 1.6],
      ] as [number, number][],
    },
  ];

  it("renders well-formed, deterministic SVG with escaped title, labels and legend", () => {
    const opts = { title: 'Loss "curve" <1>', xLabel: "step", yLabel: "loss", width: 600, height: 360 };
    const svg = lineChartSvg(series, opts);
    checkWellFormed(svg);
    expect(lineChartSvg(series, opts)).toBe(svg);
    expect(svg).toContain('width="600" height="360"');
    expect(svg).toContain("Loss &quot;curve&quot; &lt;1&gt;");
    expect(svg).toContain("train &lt;loss&gt;");
    expect(svg).toContain("val &amp; co");
    expect(count(svg, /<path /g)).toBe(2);
    expect(svg).toContain(">step</text>");
    expect(svg).toContain(">loss</text>");
    // An accessible name for screen readers: the title, else the series it plots.
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-label="Loss &quot;curve&quot; &lt;1&gt;">/);
    expect(lineChartSvg(series)).toMatch(
      /^<svg [^>]*aria-label="line chart of train &lt;loss&gt;, val &amp; co">/,
    );
  });

  it("breaks lines at NaN, survives empty and degenerate input, and supports a log axis", () => {
    const gappy = lineChartSvg([
      {
        name: "g",
        points: [
          [0, 1],
          [1, Number.NaN],
          [2, 3],
          [3, 4],
          [4, Number.POSITIVE_INFINITY],
        ],
      },
    ]);
    checkWellFormed(gappy);
    expect(count(gappy, /<path /g)).toBe(1);
    expect(count(gappy, /M/g)).toBe(1); // only [2,3]-[3,4] is a segment…
    expect(count(gappy, /<circle /g)).toBe(1); // …[0,1] is a lone dot
    const empty = lineChartSvg([]);
    checkWellFormed(empty);
    expect(empty).toContain("no data");
    checkWellFormed(
      lineChartSvg([
        { name: "nothing", points: [] },
        { name: "nan", points: [[Number.NaN, 1]] },
      ]),
    );
    const single = lineChartSvg([{ name: "one", points: [[5, 5]] }]);
    checkWellFormed(single);
    expect(count(single, /<circle /g)).toBe(1);
    const log = lineChartSvg(
      [
        {
          name: "lr",
          points: [
            [0, 1e-4],
            [1, 3e-3],
            [2, 0],
            [3, -1],
            [4, 6e-4],
          ],
        },
      ],
      { logY: true },
    );
    checkWellFormed(log);
    expect(log).toContain(">1e-4<");
    expect(log).toContain(">1e-2<");
    expect(() => lineChartSvg([], { width: 0 })).toThrow(/width/);
  });
});

describe("heatmapSvg", () => {
  const attn = [
    [1, 0, 0],
    [0.4, 0.6, 0],
    [0.2, 0.3, 0.5],
  ];

  it("draws one titled cell per value, labels, and a colour bar", () => {
    const svg = heatmapSvg(attn, {
      rowLabels: ["<s>", "a", "b&c"],
      colLabels: ["<s>", "a", "b&c"],
      title: "head 0",
    });
    checkWellFormed(svg);
    expect(
      heatmapSvg(attn, { rowLabels: ["<s>", "a", "b&c"], colLabels: ["<s>", "a", "b&c"], title: "head 0" }),
    ).toBe(svg);
    expect(count(svg, /<title>/g)).toBe(9);
    expect(svg).toContain("<title>b&amp;c → a: 0.3</title>");
    expect(svg).toContain(`fill="${viridis(1)}"><title>&lt;s&gt; → &lt;s&gt;: 1</title>`);
    expect(svg).toContain(`fill="${viridis(0)}"><title>&lt;s&gt; → a: 0</title>`);
    expect(svg).toContain(">head 0</text>");
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-label="head 0">/);
    expect(heatmapSvg(attn)).toMatch(/^<svg [^>]*aria-label="heatmap, 3 × 3">/);
    expect(count(svg, /rotate\(-45/g)).toBe(3);
  });

  it("handles NaN cells, constant and empty matrices, values, and bad shapes", () => {
    const nan = heatmapSvg(
      [
        [Number.NaN, 1],
        [2, 3],
      ],
      { showValues: true, cellSize: 30 },
    );
    checkWellFormed(nan);
    expect(nan).toContain('fill="#cccccc"><title>0 → 0: NaN</title>');
    expect(count(nan, /font-size="9"/g)).toBe(3);
    checkWellFormed(heatmapSvg([[2, 2]]));
    const empty = heatmapSvg([]);
    checkWellFormed(empty);
    expect(empty).toContain("no data");
    expect(() => heatmapSvg([[1, 2], [3]])).toThrow(/row 1 has 1 values/);
    expect(() => heatmapSvg(attn, { rowLabels: ["a"] })).toThrow(/1 row labels for 3 rows/);
  });
});

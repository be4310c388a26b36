/**
 * The op tables are the single source of truth: the header generator's text parser reads the same
 * lists TypeScript imports, the built addon carries those lists, a stale addon is refused, and the
 * derived API (unaryOps, Tensor methods) covers every row.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs build script, without type declarations
import { parseMetaLayout, parseOpTables, renderHeader } from "../../scripts/gen-op-header.mjs";
import { OP_TABLES, type OpFamily, UNARY_OPS } from "../../src/backend/op-table.js";
import { loadAddon, meta, opTableMismatch } from "../../src/backends/native/binding.js";
import { META_LAYOUT, ML } from "../../src/backends/native/meta-layout.js";
import * as q from "../../src/index.js";
import { native, skipReason } from "./util.js";

const root = new URL("../../", import.meta.url);
const tableText = readFileSync(new URL("src/backend/op-table.ts", root), "utf8");
const names = (f: OpFamily) => OP_TABLES[f].map((r) => r.name);
const families = Object.keys(OP_TABLES) as OpFamily[];

describe("op tables → native header", () => {
  it("the header generator's parser reads exactly the imported tables, in order", () => {
    const parsed = parseOpTables(tableText) as Record<OpFamily, string[]>;
    for (const f of families) expect(parsed[f], f).toEqual(names(f));
  });

  it("the parser rejects a table it cannot read rather than guessing", () => {
    expect(() => parseOpTables(tableText.replace("export const UNARY_OPS = [", "const UNARY = ["))).toThrow(
      /no "export const UNARY_OPS = \["/,
    );
    const dup = tableText.replace('{ name: "sub"', '{ name: "add"');
    expect(() => parseOpTables(dup)).toThrow(/duplicate binary op/);
  });

  it("the header holds one enum class and one X-macro per family, codes = table positions", () => {
    const layoutText = readFileSync(new URL("src/backends/native/meta-layout.ts", root), "utf8");
    const h = renderHeader(parseOpTables(tableText), parseMetaLayout(layoutText)) as string;
    for (const f of families) {
      const list = names(f);
      expect(h).toContain(`#define QKV_${f.toUpperCase()}_OPS(X) ${list.map((n) => `X(${n})`).join(" ")}`);
      expect(h).toContain(`${list.at(-1)} = ${list.length - 1} };`);
    }
    const built = new URL("native/gen/qkv_ops.h", root);
    // Written by scripts/build-native.mjs; when present it must be this table's header.
    if (existsSync(built)) expect(readFileSync(built, "utf8")).toBe(h);
  });

  it("the meta layout the C++ reads with is the one the TypeScript writes with", () => {
    const layoutText = readFileSync(new URL("src/backends/native/meta-layout.ts", root), "utf8");
    const parsed = parseMetaLayout(layoutText) as Record<string, string[]>;
    expect(Object.keys(parsed)).toEqual(Object.keys(META_LAYOUT));
    for (const [kernel, fields] of Object.entries(META_LAYOUT)) {
      expect(parsed[kernel], kernel).toEqual([...fields]);
      // the writer's index of each field is its position, as in the header's ml::<kernel> enum
      fields.forEach((f, i) => {
        expect((ML as unknown as Record<string, Record<string, number>>)[kernel][f]).toBe(i);
      });
    }
    const h = renderHeader(parseOpTables(tableText), parsed) as string;
    expect(h).toContain("struct gemm { enum : int { batch = 0, M = 1, N = 2, K = 3,");
    expect(() => parseMetaLayout(layoutText.replace('"rows", "n", "log"', '"rows", "n", "n"'))).toThrow(
      /duplicate field in softmax/,
    );
  });

  it("opTableMismatch names the family and both lists when an addon's ops differ", () => {
    const current = Object.fromEntries(families.map((f) => [f, names(f)]));
    expect(opTableMismatch(current)).toBeNull();
    const swapped = { ...current, unary: [...names("unary")].reverse() };
    expect(opTableMismatch(swapped)).toMatch(
      /^unary ops \[.*\] but src\/backend\/op-table\.ts has \[neg, exp/,
    );
    const shorter = { ...current, reduce: names("reduce").slice(0, -1) };
    expect(opTableMismatch(shorter)).toMatch(/^reduce ops/);
  });
});

describe.skipIf(!native)(`the built addon${skipReason ? ` (${skipReason})` : ""}`, () => {
  it("carries the op lists of this table (it would not have loaded otherwise)", () => {
    const table = loadAddon()!.opTable();
    for (const f of families) expect(table[f], f).toEqual(names(f));
  });

  it("throws on an op code outside the table instead of computing something", () => {
    const a = loadAddon()!;
    const x = new Float32Array(8);
    const out = new Float32Array(8).fill(7);
    for (const code of [names("unary").length, -1]) {
      meta[ML.unary.op] = code;
      expect(() => a.unary(x, out)).toThrow(/unary: unknown op code/);
      expect(() => a.unaryBackward(x, x, x, out)).toThrow(/unaryBackward: unknown op code/);
    }
    expect([...out]).toEqual(new Array(8).fill(7));
    meta[ML.reduce.op] = names("reduce").length;
    expect(() => a.reduce(x, out)).toThrow(/reduce: unknown op code/);
  });
});

describe("API derived from the unary table", () => {
  it("every row is in unaryOps, and every derived row is a Tensor method computing the same", () => {
    const x = q.rand([5], { generator: new q.Generator(3) }).add(0.5);
    for (const row of UNARY_OPS) {
      const y = q.unaryOps[row.name](x);
      expect(y.shape).toEqual([5]);
      if (row.api !== "derived") continue;
      const method = (x as unknown as Record<string, () => q.Tensor>)[row.name];
      expect(typeof method, row.name).toBe("function");
      expect(method.call(x).data, row.name).toEqual(y.data);
    }
  });
});

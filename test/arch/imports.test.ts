/**
 * The import rules, as a test: every `import … from`, `export … from` and `import("…")` in src/,
 * cli/ and examples/ must follow the layer table below. A red run names the file, the import and the rule it
 * breaks, so the rules are learned here rather than from review. Imports are read with
 * TypeScript's own pre-processor, so comments and strings that merely look like imports don't count.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

type Layer =
  | "util"
  | "tensor"
  | "backend"
  | "backends"
  | "selection"
  | "autograd"
  | "ops"
  | "nn"
  | "optim"
  | "models"
  | "tokenizers"
  | "data"
  | "io"
  | "io-node"
  | "train"
  | "generate"
  | "viz"
  | "entry"
  | "node-entry"
  | "cli"
  | "examples";

/** Which layer a file (path relative to the repository root) belongs to. */
function layerOf(file: string): Layer | null {
  if (file === "src/index.ts") return "entry";
  if (file === "src/node.ts") return "node-entry";
  if (file.startsWith("cli/")) return "cli";
  if (file.startsWith("examples/")) return "examples";
  // Selection names the built-in backends, so it sits above them even though it lives in backend/.
  if (file === "src/backend/select.ts") return "selection";
  // Every other file of backend/ is the kernel contract: the Backend interface, its op tables and
  // the optional fused capabilities.
  if (file.startsWith("src/backend/")) return "backend";
  if (/^src\/io\/node[^/]*\.ts$/.test(file)) return "io-node";
  const m = /^src\/([^/]+)\//.exec(file);
  const dirs: Record<string, Layer> = {
    util: "util",
    tensor: "tensor",
    backends: "backends",
    autograd: "autograd",
    ops: "ops",
    nn: "nn",
    optim: "optim",
    models: "models",
    tokenizers: "tokenizers",
    data: "data",
    io: "io",
    train: "train",
    generate: "generate",
    viz: "viz",
  };
  return (m && dirs[m[1]]) || null;
}

const ALL_SRC: Layer[] = [
  "util",
  "tensor",
  "backend",
  "backends",
  "selection",
  "autograd",
  "ops",
  "nn",
  "optim",
  "models",
  "tokenizers",
  "data",
  "io",
  "io-node",
  "train",
  "generate",
  "viz",
];

/**
 * The layers each layer may import besides itself, lowest first. The order of the library is
 * util → tensor → backend (contract) → backends → selection, then autograd, ops, nn and optim,
 * models, and train and generate on top. Decisions worth knowing:
 *  - autograd knows no backend: it records nodes on tensors and sweeps them, nothing else;
 *  - only ops reach the kernels (through selection); nn, optim and models see the contract's types;
 *  - io (file formats: safetensors, float bits) sits below models, which read their checkpoints
 *    through it; io never imports models, so HF key maps live in models/hf.ts, not in io/;
 *  - io/node* is the only node-only code of the library, reachable from qkv/node and cli alone, so
 *    the main entry bundles for a browser;
 *  - models never import generate/: generation drives models, not the other way round;
 *  - train sits above generate: an evaluation may decode (the seq2seq task scores greedy
 *    translations), but generation never imports training;
 *  - cli and examples/ use the library as anyone would: through the two public entry points.
 */
const ALLOWED: Record<Layer, readonly Layer[]> = {
  util: [],
  tensor: ["util"],
  backend: ["tensor", "util"],
  backends: ["backend", "tensor", "util"],
  selection: ["backends", "backend", "tensor", "util"],
  autograd: ["tensor", "util"],
  ops: ["selection", "backend", "autograd", "tensor", "util"],
  nn: ["ops", "autograd", "backend", "tensor", "util"],
  optim: ["ops", "autograd", "backend", "tensor", "util"],
  tokenizers: ["ops", "autograd", "backend", "tensor", "util"],
  data: ["tokenizers", "ops", "autograd", "backend", "tensor", "util"],
  io: ["data", "tokenizers", "backend", "tensor", "util"],
  // io-node maps files through the native addon's loader (backends/native/binding.ts) when it is built.
  "io-node": ["io", "data", "tokenizers", "backends", "backend", "tensor", "util"],
  models: ["io", "nn", "ops", "autograd", "backend", "tensor", "util"],
  train: [
    "generate",
    "models",
    "optim",
    "data",
    "tokenizers",
    "io",
    "nn",
    "ops",
    "autograd",
    "backend",
    "tensor",
    "util",
  ],
  generate: ["models", "data", "tokenizers", "io", "nn", "ops", "autograd", "backend", "tensor", "util"],
  viz: ["tensor", "util"],
  entry: ALL_SRC.filter((l) => l !== "io-node"),
  "node-entry": ["io-node", "io", "data", "tokenizers", "backend", "tensor", "util"],
  cli: ["entry", "node-entry"],
  examples: ["entry", "node-entry"],
};

/** Where a bare specifier (a package or a Node built-in) may be imported. */
function bareRule(layer: Layer, spec: string): string | null {
  if (spec.startsWith("node:")) {
    return layer === "io-node" || layer === "cli" || layer === "examples"
      ? null
      : "`node:` modules are imported only in src/io/node* and cli/, so the library bundles for a browser";
  }
  return layer === "cli" || layer === "examples"
    ? null
    : "the library (src/) has no runtime dependencies; only cli/ imports npm packages";
}

/**
 * Imports that break the table today and are being removed by other work. Each entry must still
 * occur (a stale entry fails below), so delete an entry when its import goes away.
 */
const KNOWN_VIOLATIONS: { from: string; to: string; why: string }[] = [];

interface Edge {
  from: string;
  spec: string;
  /** Resolved file relative to the root, or null for a bare specifier. */
  to: string | null;
  line: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(e.name) && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

/** `./x.js` → `x.ts` (the sources use NodeNext-style .js specifiers), `./dir` → `dir/index.ts`. */
function resolveRelative(from: string, spec: string): string {
  const base = join(dirname(from), spec);
  const candidates = [base.replace(/\.js$/, ".ts"), base, `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => existsSync(join(ROOT, c))) ?? base;
}

/** Every import of `file` as TypeScript sees it (static, re-export, type-only and dynamic). */
function importsOf(file: string, text = readFileSync(join(ROOT, file), "utf8")): Edge[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => {
    const line = text.slice(0, f.pos).split("\n").length;
    const bare = !f.fileName.startsWith(".");
    return { from: file, spec: f.fileName, to: bare ? null : resolveRelative(file, f.fileName), line };
  });
}

/** The broken rule of one edge, or null when it is allowed. */
function violation(e: Edge): string | null {
  const from = layerOf(e.from);
  if (!from) return `${e.from} is in no layer: add its folder to layerOf in test/arch/imports.test.ts`;
  if (e.to === null) return bareRule(from, e.spec);
  if (!existsSync(join(ROOT, e.to))) return `it resolves to ${e.to}, which does not exist`;
  const to = layerOf(e.to);
  if (!to) return `${e.to} is in no layer of the table, which ${from} may not import`;
  if (to === from || ALLOWED[from].includes(to)) return null;
  const may = ALLOWED[from].length ? ALLOWED[from].join(", ") : "nothing else";
  const why: Partial<Record<string, string>> = {
    "autograd>backend": "autograd knows no backend",
    "autograd>selection": "autograd knows no backend",
    "autograd>backends": "autograd knows no backend",
    "optim>backends": "optimizers reach kernels through ops",
    "optim>selection": "optimizers reach kernels through ops",
    "models>generate": "models don't import generate/; generation drives models",
    "models>io-node": "io/node* is node-only; the main entry must bundle for a browser",
    "entry>io-node": "io/node* is node-only and exported from src/node.ts (qkv/node) alone",
    "cli>": "cli imports only the public entry points, src/index.ts (qkv) and src/node.ts (qkv/node)",
    "examples>": "examples use only the public entry points, as a user would",
    "backends>selection": "a backend never asks which backend is selected",
    "tensor>": "tensor/ sits just above util/",
  };
  const reason = why[`${from}>${to}`] ?? why[`${from}>`];
  return `${from} may import only ${may}, not ${to}${reason ? ` (${reason})` : ""}`;
}

function isKnown(e: Edge): boolean {
  return KNOWN_VIOLATIONS.some((k) => k.from === e.from && k.to === e.to);
}

const FILES = [...sourceFiles("src"), ...sourceFiles("cli"), ...sourceFiles("examples")];
const EDGES = FILES.flatMap((f) => importsOf(f));

describe("import rules", () => {
  it("reads a real import graph", () => {
    // Guards the reader itself: a parser that found nothing would make every rule pass.
    expect(FILES.length).toBeGreaterThan(100);
    expect(EDGES.length).toBeGreaterThan(300);
    expect(EDGES).toContainEqual(
      expect.objectContaining({ from: "src/ops/core.ts", to: "src/backend/select.ts" }),
    );
  });

  it("every import follows the layer table", () => {
    const broken = EDGES.filter((e) => !isKnown(e))
      .map((e) => ({ e, rule: violation(e) }))
      .filter((x) => x.rule !== null)
      .map(({ e, rule }) => `${e.from}:${e.line} imports "${e.spec}": ${rule}`);
    expect(broken, `\n${broken.join("\n")}\n`).toEqual([]);
  });

  it("each known violation still occurs (delete the entry once it is fixed)", () => {
    const stale = KNOWN_VIOLATIONS.filter(
      (k) => !EDGES.some((e) => e.from === k.from && e.to === k.to && violation(e) !== null),
    ).map((k) => `${k.from} → ${k.to}`);
    expect(stale).toEqual([]);
  });

  it("flags a wrong import with the file, the import and the rule", () => {
    // The checker on a planted file: autograd importing the backend selection.
    const planted = importsOf(
      "src/autograd/graph.ts",
      'import { backend } from "../backend/select.js";\nexport type { X } from "../backends/cpu/index.js";\nconst m = await import("node:fs");',
    );
    expect(planted.map((e) => violation(e))).toEqual([
      expect.stringMatching(
        /^autograd may import only tensor, util, not selection \(autograd knows no backend\)/,
      ),
      expect.stringMatching(/^autograd may import only tensor, util, not backends/),
      expect.stringMatching(/`node:` modules are imported only in src\/io\/node\* and cli\//),
    ]);
    const fromCli = importsOf("cli/train.ts", 'import { Trainer } from "../src/train/trainer.js";');
    expect(violation(fromCli[0])).toMatch(/cli imports only the public entry points/);
    expect(violation(importsOf("cli/x.ts", 'import { run } from "../src/index.js";')[0])).toBeNull();
  });
});

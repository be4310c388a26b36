// Loads a GPT-2 folder with qkv/node, runs it on the token ids of a reference_logits.json (written
// by scripts/ddp_train.py from PyTorch), and prints the max |Δlogit|. Exits 1 above the tolerance,
// so the DDP round trip (scripts/ddp-roundtrip.sh) fails loudly when the hand-back drifts.
//   node --import tsx scripts/compare-logits.ts <folder> [<reference.json>] [--tol 1e-4]
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { GPT, tensor, withNoGrad } from "../src/index.js";
import { fromPretrained } from "../src/node.js";

/** What ddp_train.py writes: the ids (B, T) and PyTorch's logits (B, T, V), flattened. */
export interface ReferenceLogits {
  ids: number[][];
  shape: number[];
  logits: number[];
}

export interface LogitsComparison {
  maxAbsDiff: number;
  shape: number[];
  /** Where the largest difference sits, as [b, t, v]. */
  at: number[];
}

/** Checks a reference_logits.json's fields, naming the first that is missing or inconsistent. */
export function parseReference(json: unknown, file: string): ReferenceLogits {
  const r = json as Partial<ReferenceLogits>;
  if (!Array.isArray(r.ids) || r.ids.length === 0 || !r.ids.every(Array.isArray))
    throw new Error(`${file}: field "ids" must be a non-empty list of token-id lists`);
  const T = r.ids[0].length;
  if (T === 0 || r.ids.some((row) => row.length !== T || row.some((v) => !Number.isInteger(v) || v < 0)))
    throw new Error(`${file}: field "ids" must be rows of equal, non-zero length of non-negative integers`);
  if (!Array.isArray(r.shape) || r.shape.length !== 3 || r.shape[0] !== r.ids.length || r.shape[1] !== T)
    throw new Error(`${file}: field "shape" must be [B, T, V] matching "ids" (${r.ids.length}, ${T})`);
  if (!Array.isArray(r.logits) || r.logits.length !== r.shape[0] * r.shape[1] * r.shape[2])
    throw new Error(`${file}: field "logits" must hold ${r.shape.join("·")} numbers`);
  return r as ReferenceLogits;
}

/** Runs qkv's GPT from `folder` on the reference ids and compares with the reference logits. */
export async function compareLogits(folder: string, ref: ReferenceLogits): Promise<LogitsComparison> {
  const B = ref.ids.length;
  const T = ref.ids[0].length;
  const model = (await fromPretrained(GPT, folder)).eval();
  const x = tensor(Int32Array.from(ref.ids.flat()), { shape: [B, T] });
  const logits = await withNoGrad(async () => model.forward(x).logits); // (B, T, V)
  if (logits.shape.join() !== ref.shape.join())
    throw new Error(`${folder}: qkv logits have shape [${logits.shape}], the reference [${ref.shape}]`);
  const ours = logits.toArray();
  let maxAbsDiff = 0;
  let worst = 0;
  for (let i = 0; i < ours.length; i++) {
    const d = Math.abs(Number(ours[i]) - ref.logits[i]);
    // NaN on either side must count as a failure, not slip past a `>` comparison.
    if (!(d <= maxAbsDiff)) {
      maxAbsDiff = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
      worst = i;
      if (Number.isNaN(d)) break;
    }
  }
  const V = ref.shape[2];
  const at = [Math.floor(worst / (T * V)), Math.floor(worst / V) % T, worst % V];
  return { maxAbsDiff, shape: [...logits.shape], at };
}

async function main(argv: string[]): Promise<number> {
  const tolAt = argv.indexOf("--tol");
  const tol = tolAt >= 0 ? Number(argv[tolAt + 1]) : 1e-4;
  const positional = tolAt >= 0 ? argv.filter((_, i) => i !== tolAt && i !== tolAt + 1) : argv;
  const [folder, refFile = folder ? join(folder, "reference_logits.json") : undefined] = positional;
  if (!folder || !refFile || !(tol >= 0)) {
    console.error("usage: compare-logits.ts <folder> [<reference_logits.json>] [--tol 1e-4]");
    return 2;
  }
  const ref = parseReference(JSON.parse(await readFile(refFile, "utf8")), refFile);
  const { maxAbsDiff, shape, at } = await compareLogits(folder, ref);
  const ok = maxAbsDiff <= tol;
  console.log(
    `logits [${shape}] max |Δlogit| qkv vs PyTorch = ${maxAbsDiff.toExponential(3)} at [${at}] ` +
      `(tolerance ${tol}): ${ok ? "OK" : "FAIL"}`,
  );
  return ok ? 0 : 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: Error) => {
      console.error(`compare-logits: ${err.message}`);
      process.exit(2);
    },
  );
}

/** Pieces the benchmark scripts share: PyTorch's twin as a subprocess, and greedy KV-cache decoding. */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type GPT, KVCache, tensor, withNoGrad } from "../src/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const python = process.env.QKV_BENCH_PYTHON ?? "/usr/bin/python3";

/** Runs bench/torch_gpt.py with `args` and returns its last JSON line, or null without torch. */
export function torchTwin(args: string[]): Record<string, number> | null {
  const r = spawnSync(python, [join(root, "bench/torch_gpt.py"), ...args], {
    encoding: "utf8",
    timeout: 600_000,
  });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim().split("\n").pop()!);
  } catch {
    return null;
  }
}

/** Greedy batch-1 decoding of `newTokens` tokens from token 0 with a KV cache: tokens/s and the ids. */
export function greedyDecode(model: GPT, newTokens: number): { tps: number; ids: number[] } {
  return withNoGrad(() => {
    const cache = new KVCache(model.config.nLayer);
    const ids: number[] = [];
    let id = 0;
    const t0 = performance.now();
    for (let t = 0; t < newTokens; t++) {
      const { logits } = model.forward(tensor(Int32Array.of(id), { shape: [1, 1] }), null, {
        cache,
        lastOnly: true,
      });
      const row = logits.toArray();
      let best = 0;
      for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
      id = best;
      ids.push(id);
    }
    return { tps: newTokens / ((performance.now() - t0) / 1000), ids };
  });
}

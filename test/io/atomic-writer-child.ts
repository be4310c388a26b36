/**
 * Child process for the crash tests in node-fs.test.ts: rewrites a target file ("file" mode)
 * or checkpoint folder ("dir" mode) in an endless loop, printing each finished step, until
 * the parent SIGKILLs it. Every version is internally consistent, so a torn write shows.
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDirFor, replaceDirAtomic, writeFileAtomic } from "../../src/io/node-fs.js";
import { serializeSafetensors } from "../../src/io/safetensors.js";

const [mode, target] = process.argv.slice(2);
const N = 1 << 20; // 4 MiB of float32 per version, so a kill often lands mid-write

function version(step: number): Uint8Array {
  const data = new Float32Array(N).fill(step);
  return serializeSafetensors({ x: { dtype: "float32", shape: [N], data } }, { step: String(step) });
}

async function main(): Promise<void> {
  if (mode !== "file" && mode !== "dir") throw new Error(`usage: atomic-writer-child file|dir TARGET`);
  for (let step = 0; ; step++) {
    if (mode === "file") {
      await writeFileAtomic(target, version(step));
    } else {
      const tmp = await makeTempDirFor(target);
      await writeFile(join(tmp, "weights.safetensors"), version(step));
      await writeFile(join(tmp, "state.json"), JSON.stringify({ step }));
      await replaceDirAtomic(tmp, target);
    }
    process.stdout.write(`${step}\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

/**
 * Child process for the crash tests in node-fs.test.ts: rewrites a target file ("file" mode)
 * or checkpoint folder ("dir" mode) in an endless loop, printing each finished step, until
 * the parent SIGKILLs it. Each version is internally consistent (data = step parity), so a torn write shows.
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDirFor, replaceDirAtomic, writeFileAtomic } from "../../src/io/node-fs.js";
import { serializeSafetensors } from "../../src/io/safetensors.js";

const [mode, target] = process.argv.slice(2);
const N = 1 << 22; // 16 MiB of float32 per version, so a kill often lands mid-write
// Precomputed payloads keep the loop busy writing rather than filling arrays.
const fills = [new Float32Array(N).fill(0), new Float32Array(N).fill(1)];

/** Version `step`: metadata says the step, every element holds its parity. */
function version(step: number): Uint8Array {
  return serializeSafetensors({ x: { dtype: "float32", shape: [N], data: fills[step % 2] } }, { step: String(step) });
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

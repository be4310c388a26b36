/**
 * Child process for the crash tests in node-fs.test.ts: runs several independent writer
 * loops at once, each rewriting its own file ("file" mode) or checkpoint folder ("dir" mode)
 * and printing "LOOP STEP" after each finished step, until the parent SIGKILLs it. Each
 * version is internally consistent (data = step parity), so a torn write shows.
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDirFor, replaceDirAtomic, writeFileAtomic } from "../../src/io/node-fs.js";
import { serializeSafetensors } from "../../src/io/safetensors.js";

const [mode, prefix, loopsArg] = process.argv.slice(2);
const N = 1 << 21; // 8 MiB of float32 per version, so a kill often lands mid-write
// Precomputed payloads keep the loops busy writing rather than filling arrays.
const fills = [new Float32Array(N).fill(0), new Float32Array(N).fill(1)];

/** Version `step`: metadata says the step, every element holds its parity. */
function version(step: number): Uint8Array {
  return serializeSafetensors(
    { x: { dtype: "float32", shape: [N], data: fills[step % 2] } },
    { step: String(step) },
  );
}

async function loop(id: number): Promise<void> {
  const target = `${prefix}${id}`;
  for (let step = 0; ; step++) {
    if (mode === "file") {
      await writeFileAtomic(target, version(step));
    } else {
      const tmp = await makeTempDirFor(target);
      await writeFile(join(tmp, "weights.safetensors"), version(step));
      await writeFile(join(tmp, "state.json"), JSON.stringify({ step }));
      await replaceDirAtomic(tmp, target);
    }
    process.stdout.write(`${id} ${step}\n`);
  }
}

const loops = Number(loopsArg);
if ((mode !== "file" && mode !== "dir") || !(loops > 0)) {
  process.stderr.write("usage: atomic-writer-child file|dir TARGET_PREFIX LOOPS\n");
  process.exit(2);
}
Promise.all(Array.from({ length: loops }, (_, i) => loop(i))).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

// The hash that ties src/backends/wasm/gen/binary.ts to what it was built from: every file under
// native/ that the wasm modules compile (the .inc kernels, headers, the wasm sources), the op tables
// that generate native/gen/qkv_ops.h, and the build and packing scripts (flags, format). Node-only,
// no compiler.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function wasmSourceHash(root) {
  const files = [];
  for (const f of readdirSync(join(root, "native")).sort()) {
    if (
      /\.(inc|h|cc)$/.test(f) &&
      !/^(isa_avx2|isa_avx512|isa_generic|vec_avx2|vec_avx512|vec_generic|vec_scalar|pool)\.(cc|h)$/.test(f)
    )
      files.push(`native/${f}`);
  }
  files.push("native/pool.h");
  for (const f of readdirSync(join(root, "native", "wasm")).sort()) files.push(`native/wasm/${f}`);
  files.push("src/backend/op-table.ts", "scripts/build-wasm.mjs", "scripts/wasm-pack.mjs");
  const h = createHash("sha256");
  for (const f of [...new Set(files)].sort()) {
    h.update(f);
    h.update("\0");
    // line endings normalised, so a Windows checkout hashes the same
    h.update(readFileSync(join(root, f), "utf8").replace(/\r\n/g, "\n"));
    h.update("\0");
  }
  return h.digest("hex").slice(0, 32);
}

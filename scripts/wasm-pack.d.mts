/** The patch that turns `base` into `target` (see scripts/wasm-pack.mjs). */
export function makePatch(base: Uint8Array, target: Uint8Array): Uint8Array;
/** Lines of the generated module for the two builds, and the packed sizes. */
export function packedModuleLines(
  simd: Uint8Array,
  relaxed: Uint8Array,
): { lines: string[]; sizes: { base: number; patch: number; dpatch: number } };

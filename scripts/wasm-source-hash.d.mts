/** The hash of the sources and flags the committed wasm modules were built from (see the .mjs). */
export function wasmSourceHash(root: string): string;

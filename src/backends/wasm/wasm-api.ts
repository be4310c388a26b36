/**
 * The slice of the WebAssembly JS API the wasm backend uses, typed here because the project's
 * TypeScript libraries (ES2022, no DOM) do not declare it.
 */
export interface WasmGlobal {
  value: number;
}
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
// biome-ignore lint/suspicious/noEmptyInterface: an opaque compiled module
export interface WasmModule {}
export type WasmImports = Record<string, Record<string, unknown>>;
export interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: WasmImports) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number; maximum?: number; shared?: boolean }) => WasmMemory;
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
}

/** The engine's WebAssembly object; throws when there is none. */
export function wasmApi(): WasmApi {
  const w = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!w) throw new Error("this engine has no WebAssembly");
  return w;
}

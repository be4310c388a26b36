/**
 * Backend selection. The reference `cpu` backend is always present; faster ones register here.
 * Ops call `backend()` for every kernel, so switching backends changes no op or autograd code.
 */
import type { Backend } from "../backend/backend.js";
import { cpuBackend } from "./cpu/index.js";

export { cpuBackend };

const registry = new Map<string, () => Backend | null>([["cpu", () => cpuBackend]]);
let current: Backend = cpuBackend;

/** The backend the ops currently dispatch to. */
export function backend(): Backend {
  return current;
}

/**
 * Makes another backend loadable by name (`setBackend(name)`), e.g. the native addon.
 * The loader returns null when the backend cannot run here.
 */
export function registerBackend(name: string, load: () => Backend | null): void {
  registry.set(name, load);
}

/** Names of registered backends. */
export function listBackends(): string[] {
  return [...registry.keys()];
}

/**
 * Selects the backend by name or object.
 * @example
 * setBackend("cpu");
 */
export function setBackend(b: string | Backend): Backend {
  if (typeof b !== "string") {
    current = b;
    return b;
  }
  const load = registry.get(b);
  if (!load) throw new Error(`setBackend: unknown backend "${b}"; available: ${listBackends().join(", ")}`);
  const loaded = load();
  if (!loaded) throw new Error(`setBackend: backend "${b}" is not available on this machine`);
  current = loaded;
  return loaded;
}

/** Name of the current backend. */
export function getBackendName(): string {
  return current.name;
}

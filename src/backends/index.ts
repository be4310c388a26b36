/**
 * Compatibility re-export: backend selection moved to ../backend/select.ts. Only code written
 * before the move imports this file; the import-rule test (test/arch/imports.test.ts) lists each
 * such import as a known violation to remove.
 */
export {
  backend,
  cpuBackend,
  getBackendName,
  listBackends,
  registerBackend,
  setBackend,
} from "../backend/select.js";

// Every test runs with poisoned uninitialised allocations: a kernel that leaves an output element
// unwritten produces NaN (or 0x7fffffff) instead of a plausible stale value.
import { memoryPool } from "../src/tensor/pool.js";

memoryPool({ poison: true });

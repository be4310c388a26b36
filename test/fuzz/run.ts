/**
 * Runs a fuzz target over a deterministic stream of inputs (fast-check samples, seeded per block
 * of 1,000 so any input can be regenerated from its index) and counts outcomes. Used by the long
 * run (scripts/fuzz.ts) inside a child process per target, and by test/fuzz/fuzz.test.ts.
 */
import fc from "fast-check";
import type { FuzzTarget } from "./targets.js";

export const BLOCK = 1000;
/** An input slower than this counts as a hang even though it finished. */
export const SLOW_MS = 2000;

export interface FuzzCounts {
  tried: number;
  loaded: number;
  named: number;
  unnamed: number;
  hang: number;
  crash: number;
}

export interface FuzzFailure {
  index: number;
  kind: "unnamed" | "hang" | "crash";
  error: string;
  input: string;
}

export const zeroCounts = (): FuzzCounts => ({
  tried: 0,
  loaded: 0,
  named: 0,
  unnamed: 0,
  hang: 0,
  crash: 0,
});

/** The input at `index` of the stream for `seed` (the same on every run and machine). */
export function inputAt<I>(target: FuzzTarget<I>, seed: number, index: number): I {
  const block = Math.floor(index / BLOCK);
  return fc.sample(target.arbitrary, { seed: seed + block * 7919, numRuns: (index % BLOCK) + 1 })[
    index % BLOCK
  ];
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message.slice(0, 300)}`;
  return `non-Error thrown: ${String(e).slice(0, 300)}`;
}

/**
 * Runs inputs [start, end) of the stream; `before(i)` is called before each (the long run's
 * watchdog records it). Failures keep their index, so `inputAt` regenerates them.
 */
export async function runRange<I>(
  target: FuzzTarget<I>,
  seed: number,
  start: number,
  end: number,
  hooks: {
    skip?: ReadonlySet<number>;
    before?: (index: number) => void;
    after?: (counts: FuzzCounts, index: number, failures: FuzzFailure[]) => void;
  } = {},
): Promise<{ counts: FuzzCounts; failures: FuzzFailure[] }> {
  const counts = zeroCounts();
  const failures: FuzzFailure[] = [];
  let block = -1;
  let inputs: I[] = [];
  for (let i = start; i < end; i++) {
    const b = Math.floor(i / BLOCK);
    if (b !== block) {
      block = b;
      inputs = fc.sample(target.arbitrary, { seed: seed + b * 7919, numRuns: BLOCK });
    }
    if (hooks.skip?.has(i)) continue;
    const input = inputs[i % BLOCK];
    hooks.before?.(i);
    const t0 = performance.now();
    let outcome: "loaded" | "named" | "unnamed";
    let error = "";
    try {
      await target.run(input);
      outcome = "loaded";
    } catch (e) {
      outcome = target.named(e) ? "named" : "unnamed";
      if (outcome === "unnamed") error = describeError(e);
    }
    const ms = performance.now() - t0;
    counts.tried++;
    if (ms > SLOW_MS) {
      counts.hang++;
      failures.push({ index: i, kind: "hang", error: `took ${ms.toFixed(0)} ms`, input: target.show(input) });
    } else {
      counts[outcome]++;
      if (outcome === "unnamed")
        failures.push({ index: i, kind: "unnamed", error, input: target.show(input) });
    }
    hooks.after?.(counts, i, failures);
  }
  return { counts, failures };
}

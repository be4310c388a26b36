// Training-config bounds: sizes that would crash V8 or never end are refused by field before
// anything is allocated (issue 12, defects 1 and 12), and JSON keys never reach the prototype.
import { describe, expect, test } from "vitest";
import { ConfigError, checkTrainingMemory, estimateTrainingBytes, resolveConfig } from "../../src/index.js";

const fieldOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).field;
  }
  return undefined;
};

describe("resolveConfig bounds", () => {
  test.each([
    ["batchSize", 2 ** 53],
    ["batchSize", 1e8],
    ["maxIters", 1e15],
    ["sampleTokens", 1e308],
    ["nLayer", 50256],
    ["evalIters", 1e9],
  ])("%s = %d is refused by field", (k, v) => {
    expect(fieldOf(() => resolveConfig({ overrides: [{ [k]: v }] }))).toBe(k);
  });

  test('"constructor", "toString" and "__proto__" are unknown fields, not the prototype\'s', () => {
    for (const k of ["constructor", "toString", "__proto__"])
      expect(fieldOf(() => resolveConfig({ overrides: [JSON.parse(`{"${k}": 1}`)] }))).toBe(k);
    expect(fieldOf(() => resolveConfig({ preset: "toString" }))).toBe("preset");
  });

  test("a null or array override is refused", () => {
    expect(fieldOf(() => resolveConfig({ overrides: [null as never] }))).toBe("config");
  });
});

describe("checkTrainingMemory", () => {
  const cfg = resolveConfig({ preset: "tiny" });
  test("the estimate grows with the batch: 4 copies of the weights plus activations", () => {
    const a = estimateTrainingBytes(cfg, 65);
    const b = estimateTrainingBytes({ ...cfg, batchSize: cfg.batchSize * 2 }, 65);
    const weights = estimateTrainingBytes({ ...cfg, batchSize: 0 }, 65);
    // Activations are linear in the batch: a − w = (b − w) / 2.
    expect(b - weights).toBeCloseTo(2 * (a - weights), 6);
  });
  test("a run over the budget names the field to lower; a tensor past 2^31 values is refused", () => {
    expect(() => checkTrainingMemory(cfg, 65, 1e12)).not.toThrow();
    // Doubling blockSize doubles the tokens and again the T² attention term, so it is the field
    // that grows the estimate most (and the one named), even when batchSize is what was raised.
    expect(fieldOf(() => checkTrainingMemory({ ...cfg, batchSize: 1 << 16 }, 65, 1e9))).toBe("blockSize");
    expect(
      fieldOf(() => checkTrainingMemory({ ...cfg, batchSize: 1 << 20, blockSize: 4096 }, 65, 1e18)),
    ).toBe("batchSize");
  });
});

// Every Tensor method that ops/methods.ts declares (module augmentation, so the compiler believes
// it exists) must be installed on Tensor.prototype by importing qkv, including one added below
// the installTensorMethods() call or declared and never implemented.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { expect, it } from "vitest";
import { Tensor } from "../../src/index.js";

const source = readFileSync(resolve(import.meta.dirname, "../../src/ops/methods.ts"), "utf8");
const block =
  /declare module "\.\.\/tensor\/tensor\.js" \{\n {2}interface Tensor(?: extends [^{]+)? \{\n([\s\S]*?)\n {2}\}\n\}/.exec(
    source,
  );

it("each declared Tensor method is a function on Tensor.prototype", () => {
  expect(block, "the declare-module block of src/ops/methods.ts").not.toBeNull();
  const declared = [...block![1].matchAll(/^ {4}(\w+)\(/gm)].map((m) => m[1]);
  expect(declared.length).toBeGreaterThan(50);
  const proto = Tensor.prototype as unknown as Record<string, unknown>;
  const missing = declared.filter((name) => typeof proto[name] !== "function");
  expect(missing, "declared in ops/methods.ts but not installed").toEqual([]);
});

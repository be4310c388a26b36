/** A torch Linear → GELU → LayerNorm → Linear stack loaded through loadStateDict: outputs and gradients. */
import { describe, expect, it } from "vitest";
import { nn } from "../../src/index.js";
import { expectClose } from "../helpers.js";
import { type FixtureTensor, loadFixture, maxRelErr, toTensor } from "./fixture.js";

const fx = loadFixture<{
  stateDict: Record<string, FixtureTensor>;
  input: FixtureTensor;
  lossWeights: FixtureTensor;
  output: FixtureTensor;
  grads: Record<string, FixtureTensor>;
}>("module.json");

describe(`module parity with torch ${fx.torch}`, () => {
  it("Sequential(Linear, GELU, LayerNorm, Linear) matches torch's output and every parameter gradient", () => {
    const net = new nn.Sequential(
      new nn.Linear(5, 8),
      new nn.GELU(),
      new nn.LayerNorm(8),
      new nn.Linear(8, 3),
    );
    const sd = Object.fromEntries(Object.entries(fx.stateDict).map(([k, v]) => [k, toTensor(v)]));
    expect(Object.keys(net.stateDict())).toEqual(Object.keys(sd));
    const res = net.loadStateDict(sd);
    expect(res).toEqual({ missingKeys: [], unexpectedKeys: [] });
    const out = net.forward(toTensor(fx.input));
    expectClose(out, toTensor(fx.output), 1e-5, 1e-6, "output");
    out.mul(toTensor(fx.lossWeights)).sum().backward();
    const named = Object.fromEntries(net.namedParameters());
    expect(Object.keys(named)).toEqual(Object.keys(fx.grads));
    let worst = maxRelErr(out.toArray(), fx.output.data, 1e-3);
    for (const [k, g] of Object.entries(fx.grads)) {
      expectClose(named[k].grad!, toTensor(g), 1e-5, 1e-6, `grad of ${k}`);
      worst = Math.max(worst, maxRelErr(named[k].grad!.toArray(), g.data, 1e-3));
    }
    expect(worst).toBeLessThan(1e-5);
  });
});

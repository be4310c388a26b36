/** The feedforward example: seeded spirals, and a network that learns them by backprop. */
import { describe, expect, it } from "vitest";
import { accuracy, makeSpirals, trainFeedforward, trainTestSplit } from "../../examples/feedforward.js";
import { Generator } from "../../src/index.js";

describe("examples/feedforward", () => {
  it("makes seeded, balanced interleaved spirals and a disjoint held-out split", () => {
    const a = makeSpirals({ classes: 2, pointsPerClass: 50, generator: new Generator(5) });
    const b = makeSpirals({ classes: 2, pointsPerClass: 50, generator: new Generator(5) });
    expect(a.x.shape).toEqual([100, 2]);
    expect(Array.from(a.x.toArray())).toEqual(Array.from(b.x.toArray()));
    expect(Array.from(a.y.toArray()).filter((c) => c === 1)).toHaveLength(50);
    const { train, test } = trainTestSplit(a, 0.2, new Generator(1));
    expect([train.y.numel(), test.y.numel()]).toEqual([80, 20]);
    const key = (x: ArrayLike<number>, i: number) => `${x[2 * i]},${x[2 * i + 1]}`;
    const trainKeys = new Set(Array.from({ length: 80 }, (_, i) => key(train.x.toArray(), i)));
    for (let i = 0; i < 20; i++) expect(trainKeys.has(key(test.x.toArray(), i))).toBe(false);
  });

  it("the best configuration (ReLU + Adam) reaches ≥ 97% held-out accuracy within 400 steps", () => {
    const r = trainFeedforward({
      activation: "relu",
      optimizer: "adam",
      steps: 400,
      evalEvery: 25,
      stopAt: 0.97,
      seed: 0,
    });
    expect(r.stepsTo97).not.toBeNull();
    expect(r.stepsTo97!).toBeLessThanOrEqual(400);
    expect(r.testAccuracy).toBeGreaterThanOrEqual(0.97);
    // Losses fall as training proceeds.
    expect(r.history[r.history.length - 1].loss).toBeLessThan(r.history[0].loss);
  });

  it("trains on seeded mini-batches too", () => {
    const run = () =>
      trainFeedforward({
        activation: "tanh",
        optimizer: "rmsprop",
        batchSize: 32,
        steps: 20,
        evalEvery: 10,
        seed: 2,
      });
    const [a, b] = [run(), run()];
    expect(a.steps).toBe(20);
    expect(a.loss).toBe(b.loss);
    expect(Number.isFinite(a.loss)).toBe(true);
  });

  it("the spirals are not linearly separable: a network without hidden layers stays far below", () => {
    const r = trainFeedforward({ optimizer: "adam", hidden: [], steps: 150, evalEvery: 150, seed: 0 });
    expect(r.testAccuracy).toBeLessThan(0.7);
    expect(accuracy(r.model, makeSpirals({ generator: new Generator(0) }))).toBeLessThan(0.7);
  });
});

/**
 * Finite-difference gradient checks (float64, central differences) for shape ops (views and copies)
 * and indexing ops, on contiguous and non-contiguous inputs. Ops that return several tensors
 * (split, chunk) are checked through the concatenation of their flattened pieces.
 */
import { describe, it } from "vitest";
import type { Tensor } from "../../src/index.js";
import * as q from "../../src/index.js";
import { constant, gradCheck, leaf, slicedLeaf, transposedLeaf } from "../helpers.js";

interface Case {
  name: string;
  inputs: () => Tensor[];
  f: (...xs: Tensor[]) => Tensor;
}

function check(cases: Case[]): void {
  for (const c of cases) it(c.name, () => gradCheck(c.f, c.inputs()));
}

const int32 = (values: number[], shape?: number[]) => q.tensor(values, { dtype: "int32", shape });
/** Joins the pieces of split/chunk into one tensor so a single weighted loss covers all of them. */
const joined = (pieces: Tensor[]) =>
  q.cat(
    pieces.map((p) => q.flatten(p)),
    0,
  );
/** An extra op after a view, so the view's gradient is routed through another node. */
const viaMul = (y: Tensor) => q.mul(y, y);

describe("gradcheck: views and reshapes", () => {
  check([
    {
      name: "reshape: contiguous, with -1",
      inputs: () => [leaf([2, 3, 4], 400)],
      f: (x) => viaMul(q.reshape(x, [4, -1])),
    },
    {
      name: "reshape: transposed input (copy path)",
      inputs: () => [transposedLeaf([3, 4], 401)],
      f: (x) => viaMul(q.reshape(x, [12])),
    },
    {
      name: "reshape: strided slice (copy path)",
      inputs: () => [slicedLeaf([2, 3], 402)],
      f: (x) => viaMul(q.reshape(x, [3, 2])),
    },
    { name: "reshape: to 0-d", inputs: () => [leaf([1, 1], 403)], f: (x) => q.reshape(x, []) },
    { name: "view: split a dim", inputs: () => [leaf([6, 2], 404)], f: (x) => viaMul(q.view(x, [2, 3, 2])) },
    {
      name: "view: transposed input, split leading dim",
      inputs: () => [transposedLeaf([4, 3, 2], 405)],
      f: (x) => viaMul(q.view(x, [2, 2, 3, 2])),
    },
    {
      name: "transpose: dims 0, 2",
      inputs: () => [leaf([2, 3, 4], 406)],
      f: (x) => viaMul(q.transpose(x, 0, 2)),
    },
    {
      name: "transpose: negative dims, non-contiguous",
      inputs: () => [slicedLeaf([3, 4], 407)],
      f: (x) => viaMul(q.transpose(x, -1, -2)),
    },
    {
      name: "permute: [2, 0, 1]",
      inputs: () => [leaf([2, 3, 4], 408)],
      f: (x) => viaMul(q.permute(x, [2, 0, 1])),
    },
    {
      name: "permute: transposed input",
      inputs: () => [transposedLeaf([2, 3, 4], 409)],
      f: (x) => viaMul(q.permute(x, [1, -1, 0])),
    },
    {
      name: "squeeze: all size-1 dims",
      inputs: () => [leaf([1, 3, 1, 2], 410)],
      f: (x) => viaMul(q.squeeze(x)),
    },
    { name: "squeeze: one dim", inputs: () => [leaf([3, 1, 2], 411)], f: (x) => viaMul(q.squeeze(x, 1)) },
    {
      name: "squeeze: several dims, non-contiguous",
      inputs: () => [transposedLeaf([1, 3, 1], 412)],
      f: (x) => viaMul(q.squeeze(x, [0, 2])),
    },
    { name: "unsqueeze: dim 1", inputs: () => [leaf([3, 2], 413)], f: (x) => viaMul(q.unsqueeze(x, 1)) },
    {
      name: "unsqueeze: dim -1, transposed",
      inputs: () => [transposedLeaf([3, 2], 414)],
      f: (x) => viaMul(q.unsqueeze(x, -1)),
    },
    { name: "expand: size-1 dim", inputs: () => [leaf([3, 1], 415)], f: (x) => viaMul(q.expand(x, [3, 4])) },
    {
      name: "expand: new leading dims and -1",
      inputs: () => [leaf([1, 2], 416)],
      f: (x) => viaMul(q.expand(x, [2, 3, -1, 2])),
    },
    { name: "expand: 0-d", inputs: () => [leaf([], 417)], f: (x) => viaMul(q.expand(x, [2, 2])) },
    {
      name: "expand: non-contiguous",
      inputs: () => [slicedLeaf([1, 3], 418)],
      f: (x) => viaMul(q.expand(x, [2, 3])),
    },
    { name: "flatten: all dims", inputs: () => [leaf([2, 3, 2], 419)], f: (x) => viaMul(q.flatten(x)) },
    {
      name: "flatten: dims 1..2 of transposed",
      inputs: () => [transposedLeaf([2, 3, 2], 420)],
      f: (x) => viaMul(q.flatten(x, 1, 2)),
    },
    {
      name: "contiguous: transposed",
      inputs: () => [transposedLeaf([3, 4], 421)],
      f: (x) => viaMul(q.contiguous(x)),
    },
    { name: "clone", inputs: () => [slicedLeaf([3, 2], 422)], f: (x) => viaMul(q.clone(x)) },
  ]);
});

describe("gradcheck: cat, stack, split, chunk", () => {
  check([
    {
      name: "cat: dim 0",
      inputs: () => [leaf([2, 3], 430), leaf([1, 3], 431), leaf([3, 3], 432)],
      f: (a, b, c) => viaMul(q.cat([a, b, c], 0)),
    },
    {
      name: "cat: dim 1 with non-contiguous pieces",
      inputs: () => [transposedLeaf([2, 3], 433), slicedLeaf([2, 2], 434)],
      f: (a, b) => viaMul(q.cat([a, b], 1)),
    },
    {
      name: "cat: negative dim, same tensor twice",
      inputs: () => [leaf([2, 3], 435)],
      f: (a) => viaMul(q.cat([a, a], -1)),
    },
    {
      name: "stack: dim 0",
      inputs: () => [leaf([2, 3], 436), leaf([2, 3], 437)],
      f: (a, b) => viaMul(q.stack([a, b], 0)),
    },
    {
      name: "stack: last dim, non-contiguous",
      inputs: () => [transposedLeaf([2, 3], 438), slicedLeaf([2, 3], 439)],
      f: (a, b) => viaMul(q.stack([a, b], -1)),
    },
    {
      name: "split: equal size",
      inputs: () => [leaf([5, 2], 440)],
      f: (x) => viaMul(joined(q.split(x, 2, 0))),
    },
    {
      name: "split: list of sizes, dim 1",
      inputs: () => [transposedLeaf([2, 5], 441)],
      f: (x) => viaMul(joined(q.split(x, [1, 3, 1], 1))),
    },
    {
      name: "split: only some pieces used",
      inputs: () => [leaf([6], 442)],
      f: (x) => viaMul(q.split(x, 2)[1]),
    },
    { name: "chunk: uneven", inputs: () => [leaf([2, 7], 443)], f: (x) => viaMul(joined(q.chunk(x, 3, 1))) },
    {
      name: "chunk: dim 0 of sliced",
      inputs: () => [slicedLeaf([4, 2], 444)],
      f: (x) => viaMul(joined(q.chunk(x, 2, 0))),
    },
  ]);
});

describe("gradcheck: narrow, slice, select", () => {
  check([
    { name: "narrow: dim 1", inputs: () => [leaf([3, 5], 450)], f: (x) => viaMul(q.narrow(x, 1, 1, 3)) },
    {
      name: "narrow: transposed input",
      inputs: () => [transposedLeaf([3, 5], 451)],
      f: (x) => viaMul(q.narrow(x, 0, 1, 2)),
    },
    {
      name: "slice: step 2",
      inputs: () => [leaf([3, 6], 452)],
      f: (x) => viaMul(q.slice(x, 1, 0, undefined, 2)),
    },
    {
      name: "slice: negative start and end",
      inputs: () => [leaf([6, 2], 453)],
      f: (x) => viaMul(q.slice(x, 0, -4, -1)),
    },
    {
      name: "slice: of a slice with step 3",
      inputs: () => [slicedLeaf([2, 7], 454)],
      f: (x) => viaMul(q.slice(x, -1, 1, 7, 3)),
    },
    { name: "select: dim 0", inputs: () => [leaf([3, 4], 455)], f: (x) => viaMul(q.select(x, 0, 1)) },
    {
      name: "select: negative index, transposed",
      inputs: () => [transposedLeaf([2, 3, 4], 456)],
      f: (x) => viaMul(q.select(x, 2, -1)),
    },
    {
      name: "select twice (same element twice)",
      inputs: () => [leaf([3], 457)],
      f: (x) => q.stack([q.select(x, 0, 2), q.select(x, 0, 2)]),
    },
  ]);
});

describe("gradcheck: indexing", () => {
  check([
    {
      name: "gather: dim 1",
      inputs: () => [leaf([3, 4], 460)],
      f: (x) => q.gather(x, 1, int32([0, 3, 3, 1, 2, 2], [3, 2])),
    },
    {
      name: "gather: dim 0, repeated",
      inputs: () => [leaf([3, 2], 461)],
      f: (x) => q.gather(x, 0, int32([2, 2, 0, 2, 1, 1, 0, 0], [4, 2])),
    },
    {
      name: "gather: 3-D, transposed input",
      inputs: () => [transposedLeaf([2, 3, 4], 462)],
      f: (x) => q.gather(x, 2, int32([0, 1, 3, 2, 1, 0, 0, 0, 3, 3, 2, 1], [2, 3, 2])),
    },
    {
      name: "indexSelect: dim 0, repeated",
      inputs: () => [leaf([4, 3], 463)],
      f: (x) => viaMul(q.indexSelect(x, 0, int32([3, 0, 3, 1]))),
    },
    {
      name: "indexSelect: dim 1, sliced input",
      inputs: () => [slicedLeaf([2, 4], 464)],
      f: (x) => viaMul(q.indexSelect(x, 1, int32([2, 2]))),
    },
    {
      name: "indexSelect: 0-d index",
      inputs: () => [leaf([3, 2], 465)],
      f: (x) => viaMul(q.indexSelect(x, 0, q.tensor(1, { dtype: "int32" }))),
    },
    {
      name: "embedding: 1-D ids, repeated",
      inputs: () => [leaf([5, 3], 466)],
      f: (w) => viaMul(q.embedding(int32([4, 0, 4, 2]), w)),
    },
    {
      name: "embedding: 2-D ids",
      inputs: () => [leaf([4, 2], 467)],
      f: (w) => viaMul(q.embedding(int32([0, 1, 3, 1, 1, 2], [2, 3]), w)),
    },
    {
      name: "embedding: transposed weight",
      inputs: () => [transposedLeaf([4, 3], 468)],
      f: (w) => viaMul(q.embedding(int32([3, 3, 1]), w)),
    },
    {
      name: "maskedFill: broadcast mask",
      inputs: () => [leaf([2, 3, 4], 469)],
      f: (x) => viaMul(q.maskedFill(x, q.gt(constant([3, 1], 470), 0), -2)),
    },
    {
      name: "maskedFill: -Infinity then softmax",
      inputs: () => [leaf([3, 4], 471)],
      f: (x) =>
        q.softmax(q.maskedFill(x, q.tensor([false, true, false, true]), Number.NEGATIVE_INFINITY), -1),
    },
    {
      name: "maskedFill: transposed input",
      inputs: () => [transposedLeaf([3, 4], 472)],
      f: (x) => viaMul(q.maskedFill(x, q.lt(constant([3, 4], 473), 0), 1)),
    },
    { name: "tril: k = 0", inputs: () => [leaf([3, 4], 474)], f: (x) => viaMul(q.tril(x)) },
    { name: "tril: k = -1, batched", inputs: () => [leaf([2, 3, 3], 475)], f: (x) => viaMul(q.tril(x, -1)) },
    { name: "triu: k = 1", inputs: () => [leaf([4, 3], 476)], f: (x) => viaMul(q.triu(x, 1)) },
    {
      name: "triu: k = 0, transposed",
      inputs: () => [transposedLeaf([3, 3], 477)],
      f: (x) => viaMul(q.triu(x)),
    },
  ]);
});

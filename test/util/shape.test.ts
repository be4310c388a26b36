// The layout predicates in src/util/shape.ts that the matmul weight gradient, the optimizers, the
// fused layer and gradient clipping decide by.
import { describe, expect, it } from "vitest";
import { isDenseLayout, isTransposedMatrix, sameLayout } from "../../src/util/shape.js";

describe("layout predicates", () => {
  it("isDenseLayout: any permutation of a contiguous block, size-1 strides ignored", () => {
    expect(isDenseLayout([2, 3], [3, 1])).toBe(true);
    expect(isDenseLayout([3, 2], [1, 3])).toBe(true);
    expect(isDenseLayout([2, 1, 3], [3, 99, 1])).toBe(true);
    expect(isDenseLayout([2, 3], [4, 1])).toBe(false); // a slice of a wider matrix: gaps
    expect(isDenseLayout([2, 3], [0, 1])).toBe(false); // broadcast
  });

  it("isTransposedMatrix: the (out, in) view of a contiguous (in, out) matrix, both sizes above 1", () => {
    expect(isTransposedMatrix([3, 2], [1, 3])).toBe(true);
    expect(isTransposedMatrix([3, 2], [2, 1])).toBe(false); // row-major
    expect(isTransposedMatrix([3, 2], [1, 4])).toBe(false); // a slice
    expect(isTransposedMatrix([1, 4], [1, 1])).toBe(false); // a vector is both layouts: not flagged
    expect(isTransposedMatrix([4, 1], [1, 4])).toBe(false);
    expect(isTransposedMatrix([2, 2, 2], [1, 2, 4])).toBe(false); // 2-D only
  });

  it("sameLayout: equal strides wherever the size is above 1", () => {
    expect(sameLayout([3, 2], [1, 3], [1, 3])).toBe(true);
    expect(sameLayout([1, 4], [4, 1], [1, 1])).toBe(true);
    expect(sameLayout([3, 2], [1, 3], [2, 1])).toBe(false);
    expect(sameLayout([3, 1, 2], [1, 7, 3], [1, 0, 3])).toBe(true);
  });
});

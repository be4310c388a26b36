/**
 * Bad input fails loudly: every error names the op and the shapes involved (and the offending
 * dim, index or dtype), so a user can find the faulty call from the message alone.
 */
import { describe, expect, it } from "vitest";
import * as q from "../../src/index.js";

const f = (shape: number[]) => q.zeros(shape);
const i32 = (values: number[], shape?: number[]) => q.tensor(values, { dtype: "int32", shape });
const bool = (shape: number[]) => q.ones(shape, { dtype: "bool" });

describe("shape mismatches", () => {
  it("elementwise broadcasting", () => {
    expect(() => q.add(f([2, 3]), f([4]))).toThrow(
      /^add: shapes \[2, 3\] and \[4\] cannot be broadcast together \(dim 1: 3 vs 4\)$/,
    );
    expect(() => f([2, 3]).mul(f([3, 2]))).toThrow(/mul: shapes \[2, 3\] and \[3, 2\] cannot be broadcast/);
    expect(() => q.maximum(f([2]), f([3]))).toThrow(/maximum: shapes \[2\] and \[3\]/);
    expect(() => q.lt(f([2]), f([3]))).toThrow(/lt: shapes \[2\] and \[3\]/);
    expect(() => q.where(bool([2]), f([3]), f([3]))).toThrow(/where: shapes \[2\] and \[3\] and \[3\]/);
    expect(() => q.maskedFill(f([2, 3]), bool([4]), 0)).toThrow(/maskedFill: shapes \[2, 3\] and \[4\]/);
  });

  it("matmul and linear", () => {
    expect(() => q.matmul(f([2, 3]), f([4, 5]))).toThrow(
      /^matmul: shapes \[2, 3\] and \[4, 5\] cannot be multiplied \(3 vs 4\)$/,
    );
    expect(() => q.matmul(f([3]), f([4]))).toThrow(/matmul: shapes \[3\] and \[4\] cannot be multiplied/);
    expect(() => q.matmul(f([3]), f([4, 5]))).toThrow(
      /matmul: shapes \[3\] and \[4, 5\] cannot be multiplied/,
    );
    expect(() => q.matmul(f([2, 2, 3]), f([3, 3, 2]))).toThrow(
      /matmul: shapes \[2, 2, 3\] and \[3, 3, 2\] .*batch dims \[2\] and \[3\]/,
    );
    expect(() => q.matmul(f([]), f([3]))).toThrow(/matmul: .*at least 1 dim, got \[\] and \[3\]/);
    expect(() => q.linear(f([2, 3]), f([4, 5]))).toThrow(
      /linear: input of shape \[2, 3\] does not match weight of shape \[4, 5\]/,
    );
    expect(() => q.linear(f([2, 3]), f([4, 3]), f([5]))).toThrow(
      /linear: bias of shape \[5\] does not match weight of shape \[4, 3\]/,
    );
  });

  it("cat, stack, split", () => {
    expect(() => q.cat([f([2, 3]), f([2, 4])], 0)).toThrow(
      /^cat: shapes \[2, 3\], \[2, 4\] do not match except in dim 0$/,
    );
    expect(() => q.cat([f([2, 3]), f([3])], 0)).toThrow(/cat: shapes \[2, 3\], \[3\]/);
    expect(() => q.cat([], 0)).toThrow(/cat: expected a non-empty list/);
    expect(() => q.stack([f([2, 3]), f([3, 2])])).toThrow(/stack: .*same shape, got \[2, 3\], \[3, 2\]/);
    expect(() => q.split(f([2, 3]), [1, 1], 1)).toThrow(
      /split: sizes \[1, 1\] do not sum to 3 \(dim 1 of shape \[2, 3\]\)/,
    );
  });

  it("view, reshape, expand, permute", () => {
    const t = q.transpose(f([2, 3]), 0, 1);
    expect(() => t.view([6])).toThrow(
      /^view: cannot view a tensor of shape \[3, 2\] with strides \[1, 3\] as \[6\]; use reshape\(\)$/,
    );
    expect(() => f([2, 3]).view([4])).toThrow(/view: shape \[4\] is invalid for input of shape \[2, 3\]/);
    expect(() => f([2, 3]).reshape([4, -1])).toThrow(
      /reshape: shape \[4, -1\] is invalid for input of shape \[2, 3\]/,
    );
    expect(() => f([2, 3]).reshape([-1, -1])).toThrow(
      /reshape: only one dimension can be -1, got \[-1, -1\]/,
    );
    expect(() => f([2, 3]).expand([4, 3])).toThrow(/expand: cannot expand shape \[2, 3\] to \[4, 3\]/);
    expect(() => f([2, 3]).permute([0])).toThrow(/permute: got 1 dims \[0\] for a tensor of shape \[2, 3\]/);
    expect(() => f([2, 3]).permute([0, 0])).toThrow(
      /permute: repeated dim in \[0, 0\] for a tensor of shape \[2, 3\]/,
    );
    expect(() => q.flatten(f([2, 3]), 1, 0)).toThrow(
      /flatten: startDim 1 comes after endDim 0 for a tensor of shape \[2, 3\]/,
    );
  });

  it("nn ops and losses", () => {
    expect(() => q.layerNorm(f([2, 3]), [4])).toThrow(
      /layerNorm: normalizedShape \[4\] does not match .*input \[2, 3\]/,
    );
    expect(() => q.layerNorm(f([2, 3]), [3], f([4]))).toThrow(
      /layerNorm: weight of shape \[4\] must have shape \[3\]/,
    );
    expect(() => q.crossEntropy(f([2, 3]), i32([0, 1, 2]))).toThrow(
      /crossEntropy: target of shape \[3\] does not match input of shape \[2, 3\]/,
    );
    expect(() => q.nllLoss(f([2, 3]), i32([0, 1, 1]))).toThrow(/nllLoss: .*got \[2, 3\] and \[3\]/);
    expect(() => q.mseLoss(f([2, 3]), f([3, 2]))).toThrow(/mseLoss: input \[2, 3\] and target \[3, 2\]/);
    expect(() => q.binaryCrossEntropyWithLogits(f([2, 3]), f([3]))).toThrow(
      /binaryCrossEntropyWithLogits: input \[2, 3\] and target \[3\]/,
    );
    expect(() => q.scaledDotProductAttention(f([2, 3, 4]), f([2, 5, 3]), f([2, 5, 4]))).toThrow(
      /scaledDotProductAttention: incompatible shapes q \[2, 3, 4\], k \[2, 5, 3\], v \[2, 5, 4\]/,
    );
    expect(() =>
      q.scaledDotProductAttention(f([2, 3, 4]), f([2, 5, 4]), f([2, 5, 4]), { attnMask: f([4, 5]) }),
    ).toThrow(/scaledDotProductAttention: attnMask of shape \[4, 5\] cannot be broadcast to \[2, 3, 5\]/);
  });
});

describe("out-of-range dims and indices", () => {
  it("dims", () => {
    expect(() => q.sum(f([2, 3]), 5)).toThrow(
      /^sum: dim 5 is out of range \[-2, 1\] for a tensor of shape \[2, 3\]$/,
    );
    expect(() => q.sum(f([2, 3]), [1, -1])).toThrow(
      /sum: dim \[1, -1\] repeats a dim of the tensor of shape \[2, 3\]/,
    );
    expect(() => q.mean(f([2, 3]), -3)).toThrow(/mean: dim -3 is out of range .* shape \[2, 3\]/);
    expect(() => q.max(f([2, 3]), 2)).toThrow(/max: dim 2 is out of range .* shape \[2, 3\]/);
    expect(() => q.softmax(f([2, 3]), 2)).toThrow(/softmax: dim 2 is out of range .* shape \[2, 3\]/);
    expect(() => q.transpose(f([2, 3]), 0, 3)).toThrow(/transpose: dim 3 is out of range .* shape \[2, 3\]/);
    expect(() => q.unsqueeze(f([2, 3]), 4)).toThrow(
      /unsqueeze: dim 4 is out of range \[-3, 2\] for a tensor of shape \[2, 3\]/,
    );
    expect(() => q.cat([f([2, 3]), f([2, 3])], 2)).toThrow(/cat: dim 2 is out of range .* shape \[2, 3\]/);
    expect(() => f([2, 3]).size(3)).toThrow(/size: dim 3 out of range for shape \[2, 3\]/);
  });

  it("indices", () => {
    expect(() => q.gather(f([2, 3]), 1, i32([0, 5, 1, 1], [2, 2]))).toThrow(
      /^gather: index 5 is out of range for a dimension of size 3 \(dim 1 of input shape \[2, 3\], index shape \[2, 2\]\)$/,
    );
    expect(() => q.gather(f([2, 3]), 1, i32([0, -1, 1, 1], [2, 2]))).toThrow(
      /gather: index -1 is out of range .*\[2, 3\]/,
    );
    expect(() => q.gather(f([2, 3]), 1, i32([0, 1, 1], [3, 1]))).toThrow(
      /gather: index shape \[3, 1\] must match input shape \[2, 3\] outside dim 1/,
    );
    expect(() => q.indexSelect(f([2, 3]), 0, i32([2]))).toThrow(
      /indexSelect: index 2 is out of range .*input shape \[2, 3\]/,
    );
    expect(() => q.embedding(i32([1, 10, 2]), f([10, 4]))).toThrow(
      /^embedding: id 10 is out of range for a dimension of size 10 \(weight of shape \[10, 4\], ids of shape \[3\]\)$/,
    );
    expect(() => q.crossEntropy(f([2, 3]), i32([0, 5]))).toThrow(
      /^crossEntropy: target 5 is out of range for 3 classes \(input shape \[2, 3\]\)$/,
    );
    expect(() => q.crossEntropy(f([2, 3]), i32([0, -2]))).toThrow(
      /crossEntropy: target -2 is out of range for 3 classes \(input shape \[2, 3\]\)/,
    );
    expect(() => q.nllLoss(f([2, 3]), i32([0, 7]))).toThrow(
      /nllLoss: target 7 is out of range .*input of shape \[2, 3\]/,
    );
    expect(() => q.select(f([2, 3]), 1, 3)).toThrow(
      /select: index 3 is out of range for dim 1 of size 3 \(shape \[2, 3\]\)/,
    );
    expect(() => q.narrow(f([2, 3]), 1, 2, 2)).toThrow(
      /narrow: range \[2, 4\) is out of bounds for dim 1 of size 3 \(shape \[2, 3\]\)/,
    );
  });

  it("ignored targets may be out of range", () => {
    expect(() => q.crossEntropy(f([2, 3]), i32([0, -100]))).not.toThrow();
    expect(() => q.nllLoss(f([2, 3]), i32([7, 1]), { ignoreIndex: 7 })).not.toThrow();
  });
});

describe("backward misuse", () => {
  it("a non-scalar backward() needs a gradient", () => {
    const y = q.mul(f([2, 3]).requiresGrad_(), 2);
    expect(() => y.backward()).toThrow(
      /^backward: grad can be implicitly created only for scalar outputs, got shape \[2, 3\]; pass a gradient$/,
    );
  });

  it("the gradient must match the tensor", () => {
    const y = q.mul(f([2, 3]).requiresGrad_(), 2);
    expect(() => y.backward(f([3, 2]))).toThrow(
      /backward: gradient of shape \[3, 2\] does not match tensor of shape \[2, 3\]/,
    );
    expect(() => y.backward(q.zeros([2, 3], { dtype: "float64" }))).toThrow(
      /backward: gradient dtype float64 does not match tensor dtype float32/,
    );
  });

  it("a tensor without a graph cannot be back-propagated", () => {
    expect(() => q.sum(f([2, 3])).backward()).toThrow(/backward: tensor of shape \[\] does not require grad/);
  });
});

describe("dtype misuse", () => {
  it("float index to gather, indexSelect, embedding, crossEntropy", () => {
    expect(() => q.gather(f([2, 3]), 1, f([2, 2]))).toThrow(
      /^gather: index must be int32, got float32 of shape \[2, 2\]$/,
    );
    expect(() => q.indexSelect(f([2, 3]), 0, f([2]))).toThrow(
      /indexSelect: index must be int32, got float32 of shape \[2\]/,
    );
    expect(() => q.embedding(f([3]), f([10, 4]))).toThrow(
      /embedding: ids must be int32, got float32 of shape \[3\]/,
    );
    expect(() => q.crossEntropy(f([2, 3]), f([2]))).toThrow(
      /crossEntropy: target .*must be int32, got float32 of shape \[2\]/,
    );
    expect(() => q.nllLoss(f([2, 3]), f([2]))).toThrow(
      /nllLoss: target must be int32, got float32 of shape \[2\]/,
    );
  });

  it("requiresGrad on an int32 or bool tensor", () => {
    expect(() => q.zeros([2], { dtype: "int32" }).requiresGrad_()).toThrow(
      /^requiresGrad: only floating-point tensors can require gradients, got int32 of shape \[2\]$/,
    );
    expect(() => q.tensor([1, 2], { dtype: "int32", requiresGrad: true })).toThrow(
      /requiresGrad: .*int32 of shape \[2\]/,
    );
    expect(() => q.ones([2, 2], { dtype: "bool", requiresGrad: true })).toThrow(
      /requiresGrad: .*bool of shape \[2, 2\]/,
    );
  });

  it("matmul of int32 or of mixed float dtypes", () => {
    expect(() => q.matmul(q.zeros([2, 3], { dtype: "int32" }), f([3, 2]))).toThrow(
      /^matmul: expected a floating-point tensor, got int32 of shape \[2, 3\]$/,
    );
    expect(() => q.matmul(f([2, 3]), q.zeros([3, 2], { dtype: "int32" }))).toThrow(
      /matmul: .*int32 of shape \[3, 2\]/,
    );
    expect(() => q.matmul(q.zeros([2, 3], { dtype: "float64" }), f([3, 2]))).toThrow(
      /matmul: dtypes differ \(float64 and float32\) for shapes \[2, 3\] and \[3, 2\]/,
    );
  });

  it("float-only ops on integer tensors, masks that are not bool", () => {
    const ints = q.zeros([2], { dtype: "int32" });
    expect(() => q.exp(ints)).toThrow(/exp: expected a floating-point tensor, got int32 of shape \[2\]/);
    expect(() => q.mean(ints)).toThrow(/mean: expected a floating-point tensor, got int32 of shape \[2\]/);
    expect(() => q.softmax(ints)).toThrow(
      /softmax: expected a floating-point tensor, got int32 of shape \[2\]/,
    );
    expect(() => q.crossEntropy(q.zeros([2, 3], { dtype: "int32" }), i32([0, 1]))).toThrow(
      /crossEntropy: .*int32 of shape \[2, 3\]/,
    );
    expect(() => q.where(f([3]), f([3]), f([3]))).toThrow(
      /where: condition must be bool, got float32 of shape \[3\]/,
    );
    expect(() => q.maskedFill(f([2, 3]), f([2, 3]), 0)).toThrow(
      /maskedFill: mask must be bool, got float32 of shape \[2, 3\]/,
    );
    expect(() =>
      q.scaledDotProductAttention(f([2, 3, 4]), f([2, 5, 4]), f([2, 5, 4]), {
        attnMask: q.zeros([3, 5], { dtype: "float64" }),
      }),
    ).toThrow(
      /scaledDotProductAttention: float attnMask must be float32 like the query, got float64 of shape \[3, 5\]/,
    );
  });
});

describe("other invalid arguments", () => {
  it("names the op", () => {
    expect(() => f([2, 3]).item()).toThrow(/item: only one-element tensors .* shape \[2, 3\]/);
    expect(() => q.tensor([[1, 2], [3]])).toThrow(/tensor: ragged nested array/);
    expect(() => q.zeros([2, -1])).toThrow(/full: invalid shape \[2, -1\]/);
    expect(() => q.max(f([0, 3]))).toThrow(/max: cannot reduce an empty tensor of shape \[0, 3\]/);
    expect(() => q.tril(f([3]))).toThrow(/tril: input must have at least 2 dims, got \[3\]/);
    expect(() => q.clamp(f([3]), {})).toThrow(/clamp: at least one of min and max must be given/);
    expect(() => q.gelu(f([3]), { approximate: "erf" as "none" })).toThrow(
      /gelu: approximate must be "none" or "tanh"/,
    );
    expect(() => q.crossEntropy(f([2, 3]), i32([0, 1]), { reduction: "avg" as "mean" })).toThrow(
      /crossEntropy: reduction must be/,
    );
    expect(() => q.crossEntropy(f([2, 3]), i32([0, 1]), { labelSmoothing: 2 })).toThrow(
      /crossEntropy: labelSmoothing must be in \[0, 1\]/,
    );
    expect(() => q.copy_(f([2, 3]), f([4]))).toThrow(
      /copy_: source of shape \[4\] cannot be broadcast to \[2, 3\]/,
    );
    expect(() => q.randint(5, 5, [2])).toThrow(/randint: need integers low < high/);
    expect(() => q.slice(f([4]), 0, 0, 4, 0)).toThrow(/slice: step must be a positive integer/);
    expect(() => q.chunk(f([4]), 0)).toThrow(/chunk: chunks must be a positive integer/);
  });
});

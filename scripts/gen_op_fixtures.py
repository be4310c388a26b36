#!/usr/bin/python3
"""Generate the PyTorch parity fixtures for qkv's ops (run with Debian's /usr/bin/python3).

For every case below, in float32 and in float64, this draws the inputs with a fixed seed
(derived from the case name, so adding a case never changes another), runs the op in PyTorch,
and records the inputs, the keyword arguments, the forward outputs, a fixed upstream gradient
for each output, and the gradient of every float input that requires grad. test/ops/parity.test.ts
loads the same inputs into qkv and compares. Output is deterministic.

    /usr/bin/python3 scripts/gen_op_fixtures.py         # parity-float32.json, parity-float64.json
    .venv/bin/python scripts/gen_op_fixtures.py unary   # unary.json only

The `unary` mode writes test/fixtures/ops/unary.json (both dtypes in one file): a golden for every
row of the unary op table, whose names, PyTorch references and input domains it reads from
src/backend/op-table.ts itself (through node + tsx), so adding a unary op needs no edit here.

Conventions shared with the TS side:
  * kwargs use qkv's (camelCase) names; `op` names are qkv's function names.
  * index tensors are stored as int32 (torch gets int64), masks as bool (0/1).
  * an input with "permute" is stored as its contiguous base; the op receives
    base.permute(p), a non-contiguous view, and its gradient is reported in the view's shape.
  * float32 numbers are written in their shortest float32 round-trip form, float64 numbers in
    their shortest float64 form; non-finite numbers as the strings "Infinity", "-Infinity", "NaN".
  * scaled dot-product attention: torch < 2.0 has no F.scaled_dot_product_attention, so the
    reference is the math definition PyTorch documents for it (softmax(q·kᵀ·scale + bias)·v).
"""

import json
import math
import os
import subprocess
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "ops")
DTYPES = {"float32": (torch.float32, np.float32), "float64": (torch.float64, np.float64)}

# ---------------------------------------------------------------- input specs


def fl(shape, kind="normal", grad=True, permute=None):
    """A float input of `shape` drawn as `kind`; `permute` makes it a non-contiguous view."""
    return {"t": "float", "shape": list(shape), "kind": kind, "grad": grad, "permute": permute}


def it(values, shape=None):
    """An int32 index tensor."""
    return {"t": "int32", "values": list(values), "shape": list(shape) if shape is not None else [len(values)]}


def bl(values, shape=None):
    """A bool tensor."""
    vals = [1 if v else 0 for v in values]
    return {"t": "bool", "values": vals, "shape": list(shape) if shape is not None else [len(vals)]}


def away(v, margin):
    return np.where(np.abs(v) >= margin, v, np.sign(v + (v == 0)) * (np.abs(v) + margin))


KINDS = {
    "normal": lambda v: v,
    "positive": lambda v: np.abs(v) + 0.5,
    "away": lambda v: away(v, 0.2),
    "away5": lambda v: away(v, 0.5),
    # ≥ 0.1 away from the clamp bounds ±0.5 used below.
    "offbounds": lambda v: np.where(np.abs(np.abs(v) - 0.5) >= 0.1, v, v + 0.25),
    "prob": lambda v: 1 / (1 + np.exp(-v)),
    "binary": lambda v: (v > 0).astype(np.float64),
    "large": lambda v: 8 * v,
    "mask": lambda v: v,  # an additive float attention mask (any finite values)
}

# ---------------------------------------------------------------- the ops, in PyTorch


def binary(fn):
    def run(xs, kw):
        a = xs[0]
        if len(xs) > 1:
            b = xs[1]
        else:
            b = kw["other"]
            if fn in (torch.maximum, torch.minimum):
                b = torch.tensor(b, dtype=a.dtype)
        return fn(b, a) if kw.get("reverse") else fn(a, b)

    return run


def unary(fn):
    return lambda xs, kw: fn(xs[0])


def reduction(name):
    def run(xs, kw):
        x = xs[0]
        dim = kw.get("dim")
        keepdim = kw.get("keepdim", False)
        # qkv takes one dim, a list of dims, or none (all dims); torch wants an int or a tuple.
        dims = tuple(range(x.dim())) if dim is None else (tuple(dim) if isinstance(dim, list) else dim)
        if name == "sum":
            return torch.sum(x, dims, keepdim=keepdim)
        if name == "mean":
            return torch.mean(x, dims, keepdim=keepdim)
        if name in ("max", "min"):
            if isinstance(dims, int):
                r = torch.max(x, dims, keepdim=keepdim) if name == "max" else torch.min(x, dims, keepdim=keepdim)
                return r.values
            return torch.amax(x, dims, keepdim=keepdim) if name == "max" else torch.amin(x, dims, keepdim=keepdim)
        if name in ("var", "std"):
            fn = torch.var if name == "var" else torch.std
            return fn(x, dims, correction=kw.get("correction", 1), keepdim=keepdim)
        if name == "logsumexp":
            return torch.logsumexp(x, dims, keepdim=keepdim)
        raise ValueError(name)

    return run


def py_where(xs, kw):
    """where(cond, a, b); a number operand comes as kwarg "a" or "b" (a 0-d tensor of the other's dtype)."""
    cond, rest = xs[0], list(xs[1:])
    a = torch.tensor(kw["a"], dtype=rest[0].dtype) if "a" in kw else rest.pop(0)
    b = torch.tensor(kw["b"], dtype=a.dtype) if "b" in kw else rest.pop(0)
    return torch.where(cond, a, b)


def py_slice(x, kw):
    idx = [slice(None)] * x.dim()
    d = kw["dim"]
    idx[d] = slice(kw.get("start", 0), kw.get("end"), kw.get("step", 1))
    return x[tuple(idx)]


def py_squeeze(x, kw):
    dim = kw.get("dim")
    if dim is None:
        return x.squeeze()
    dims = dim if isinstance(dim, list) else [dim]
    dims = sorted(((d + x.dim()) % x.dim() for d in dims), reverse=True)
    for d in dims:
        x = x.squeeze(d)
    return x


def py_layer_norm(xs, kw):
    x = xs[0]
    rest = list(xs[1:])
    w = rest.pop(0) if kw.get("weight") else None
    b = rest.pop(0) if kw.get("bias") else None
    return F.layer_norm(x, kw["normalizedShape"], w, b, kw.get("eps", 1e-5))


def py_cross_entropy(xs, kw):
    return F.cross_entropy(
        xs[0],
        xs[1],
        ignore_index=kw.get("ignoreIndex", -100),
        label_smoothing=kw.get("labelSmoothing", 0.0),
        reduction=kw.get("reduction", "mean"),
    )


def py_bce(xs, kw):
    pos = xs[2] if len(xs) > 2 else None
    return F.binary_cross_entropy_with_logits(xs[0], xs[1], pos_weight=pos, reduction=kw.get("reduction", "mean"))


def py_sdpa(xs, kw):
    q, k, v = xs[:3]
    mask = xs[3] if len(xs) > 3 else None
    T, S = q.size(-2), k.size(-2)
    scale = kw.get("scale", 1 / math.sqrt(q.size(-1)))
    # PyTorch's documented reference implementation of F.scaled_dot_product_attention.
    bias = torch.zeros(T, S, dtype=q.dtype)
    if kw.get("isCausal"):
        bias = bias.masked_fill(~torch.ones(T, S, dtype=torch.bool).tril(0), float("-inf"))
    if mask is not None:
        bias = bias.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else bias + mask
    w = q @ k.transpose(-2, -1) * scale
    w = w + bias
    return torch.softmax(w, dim=-1) @ v


OPS = {
    "add": binary(torch.add),
    "sub": binary(torch.sub),
    "mul": binary(torch.mul),
    "div": binary(torch.div),
    "pow": binary(torch.pow),
    "maximum": binary(torch.maximum),
    "minimum": binary(torch.minimum),
    "neg": unary(torch.neg),
    "exp": unary(torch.exp),
    "log": unary(torch.log),
    "sqrt": unary(torch.sqrt),
    "rsqrt": unary(torch.rsqrt),
    "abs": unary(torch.abs),
    "tanh": unary(torch.tanh),
    "sigmoid": unary(torch.sigmoid),
    "relu": unary(torch.relu),
    "silu": unary(F.silu),
    "square": unary(torch.square),
    "gelu": lambda xs, kw: F.gelu(xs[0], approximate=kw.get("approximate", "none")),
    "clamp": lambda xs, kw: torch.clamp(xs[0], min=kw.get("min"), max=kw.get("max")),
    "where": py_where,
    "sum": reduction("sum"),
    "mean": reduction("mean"),
    "max": reduction("max"),
    "min": reduction("min"),
    "var": reduction("var"),
    "std": reduction("std"),
    "logsumexp": reduction("logsumexp"),
    "matmul": lambda xs, kw: torch.matmul(xs[0], xs[1]),
    "linear": lambda xs, kw: F.linear(xs[0], xs[1], xs[2] if len(xs) > 2 else None),
    "reshape": lambda xs, kw: xs[0].reshape(kw["shape"]),
    "view": lambda xs, kw: xs[0].view(kw["shape"]),
    "transpose": lambda xs, kw: xs[0].transpose(kw["dim0"], kw["dim1"]),
    "permute": lambda xs, kw: xs[0].permute(kw["dims"]),
    "squeeze": lambda xs, kw: py_squeeze(xs[0], kw),
    "unsqueeze": lambda xs, kw: xs[0].unsqueeze(kw["dim"]),
    "expand": lambda xs, kw: xs[0].expand(kw["shape"]),
    "flatten": lambda xs, kw: xs[0].flatten(kw.get("startDim", 0), kw.get("endDim", -1)),
    "cat": lambda xs, kw: torch.cat(xs, kw.get("dim", 0)),
    "stack": lambda xs, kw: torch.stack(xs, kw.get("dim", 0)),
    "split": lambda xs, kw: list(torch.split(xs[0], kw["size"], kw.get("dim", 0))),
    "chunk": lambda xs, kw: list(torch.chunk(xs[0], kw["chunks"], kw.get("dim", 0))),
    "narrow": lambda xs, kw: xs[0].narrow(kw["dim"], kw["start"], kw["length"]),
    "slice": lambda xs, kw: py_slice(xs[0], kw),
    "select": lambda xs, kw: xs[0].select(kw["dim"], kw["index"]),
    "gather": lambda xs, kw: torch.gather(xs[0], kw["dim"], xs[1]),
    "indexSelect": lambda xs, kw: torch.index_select(xs[0], kw["dim"], xs[1]),
    "embedding": lambda xs, kw: F.embedding(xs[0], xs[1]),
    "maskedFill": lambda xs, kw: xs[0].masked_fill(xs[1], kw["value"]),
    "tril": lambda xs, kw: torch.tril(xs[0], kw.get("k", 0)),
    "triu": lambda xs, kw: torch.triu(xs[0], kw.get("k", 0)),
    "softmax": lambda xs, kw: torch.softmax(xs[0], kw["dim"]),
    "logSoftmax": lambda xs, kw: torch.log_softmax(xs[0], kw["dim"]),
    "layerNorm": py_layer_norm,
    "dropout": lambda xs, kw: F.dropout(xs[0], kw["p"], training=kw.get("training", True)),
    "crossEntropy": py_cross_entropy,
    "nllLoss": lambda xs, kw: F.nll_loss(
        xs[0], xs[1], ignore_index=kw.get("ignoreIndex", -100), reduction=kw.get("reduction", "mean")
    ),
    "mseLoss": lambda xs, kw: F.mse_loss(xs[0], xs[1], reduction=kw.get("reduction", "mean")),
    "binaryCrossEntropyWithLogits": py_bce,
    "scaledDotProductAttention": py_sdpa,
}

# ---------------------------------------------------------------- the cases

CASES = []


def case(name, op, inputs, **kwargs):
    assert op in OPS, op
    CASES.append({"name": f"{op}: {name}", "op": op, "inputs": inputs, "kwargs": kwargs})


T = [1, 0]  # permute of a 2-D input: a transposed (non-contiguous) view

for op in ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]:
    b_kind = "away5" if op == "div" else "normal"
    a_kind = "positive" if op == "pow" else "normal"
    case("same shape", op, [fl([3, 4], a_kind), fl([3, 4], b_kind)])
    case("broadcast [2,1,4] with [3,1]", op, [fl([2, 1, 4], a_kind), fl([3, 1], b_kind)])
    case("size-1 [1] with [3,4]", op, [fl([1], a_kind), fl([3, 4], b_kind)])
    case("transposed operand", op, [fl([3, 4], a_kind, permute=T), fl([4], b_kind)])
case("tensor + number", "add", [fl([2, 3])], other=1.5)
case("number - tensor", "sub", [fl([2, 3])], other=2.0, reverse=True)
case("tensor * number", "mul", [fl([2, 3])], other=-3.0)
case("number / tensor", "div", [fl([2, 3], "away5")], other=2.0, reverse=True)
case("tensor ^ 2.5", "pow", [fl([2, 3], "positive")], other=2.5)
case("tensor ^ 3 (negative base)", "pow", [fl([2, 3])], other=3.0)
case("2 ^ tensor", "pow", [fl([2, 3])], other=2.0, reverse=True)
case("tensor and 0", "maximum", [fl([3, 4], "away")], other=0.0)
case("tensor and 0", "minimum", [fl([3, 4], "away")], other=0.0)

for op, kind in [
    ("neg", "normal"),
    ("exp", "normal"),
    ("log", "positive"),
    ("sqrt", "positive"),
    ("rsqrt", "positive"),
    ("abs", "away"),
    ("tanh", "normal"),
    ("sigmoid", "normal"),
    ("relu", "away"),
    ("silu", "normal"),
    ("square", "normal"),
]:
    case("[3, 4]", op, [fl([3, 4], kind)])
    case("transposed", op, [fl([3, 4], kind, permute=T)])
for approx in ["none", "tanh"]:
    case(f"approximate {approx}", "gelu", [fl([3, 4], "large")], approximate=approx)
    case(f"approximate {approx}, transposed", "gelu", [fl([2, 3], permute=T)], approximate=approx)
case("large |x|", "sigmoid", [fl([6], "large")])
case("large |x|", "silu", [fl([6], "large")])

case("min and max", "clamp", [fl([3, 4], "offbounds")], min=-0.5, max=0.5)
case("min only", "clamp", [fl([3, 4], "offbounds")], min=-0.5)
case("max only, transposed", "clamp", [fl([3, 4], "offbounds", permute=T)], max=0.5)
case("same shapes", "where", [bl([1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1], [3, 4]), fl([3, 4]), fl([3, 4])])
case("all broadcast", "where", [bl([1, 0, 1], [3, 1]), fl([2, 1, 4]), fl([4])])
case("scalar b", "where", [bl([1, 0, 0, 1], [4]), fl([3, 4], permute=T)], b=-1.0)

for op in ["sum", "mean", "max", "min", "var", "std", "logsumexp"]:
    if op != "logsumexp":
        case("all dims", op, [fl([2, 3, 4])])
    case("all dims listed, keepdim", op, [fl([2, 3, 4])], dim=[0, 1, 2], keepdim=True)
    case("dim 1", op, [fl([2, 3, 4])], dim=1)
    case("dim -1, keepdim", op, [fl([2, 3, 4])], dim=-1, keepdim=True)
    case("dims [0, 2]", op, [fl([2, 3, 4])], dim=[0, 2])
    case("dims [0, 1], keepdim, transposed", op, [fl([3, 4], permute=T)], dim=[0, 1], keepdim=True)
    case("size-1 dim", op, [fl([3, 1, 4])], dim=1)
for op in ["var", "std"]:
    case("correction 0", op, [fl([3, 4])], dim=1, correction=0)
    case("correction 0, all dims", op, [fl([3, 4])], correction=0)
case("large values", "logsumexp", [fl([2, 5], "large")], dim=1)

case("1-D . 1-D", "matmul", [fl([4]), fl([4])])
case("1-D . 2-D", "matmul", [fl([4]), fl([4, 3])])
case("2-D . 1-D", "matmul", [fl([2, 4]), fl([4])])
case("2-D . 2-D", "matmul", [fl([2, 4]), fl([4, 3])])
case("2-D transposed . 2-D transposed", "matmul", [fl([2, 4], permute=T), fl([4, 3], permute=T)])
case("batched", "matmul", [fl([2, 2, 4]), fl([2, 4, 3])])
case("broadcast batch 4-D . 3-D", "matmul", [fl([2, 1, 2, 3]), fl([3, 3, 2])])
case("broadcast batch 3-D . 2-D", "matmul", [fl([3, 2, 4]), fl([4, 2])])
case("batched 3-D . 1-D", "matmul", [fl([3, 2, 4]), fl([4])])
case("1-D . batched 3-D", "matmul", [fl([4]), fl([2, 4, 3])])
case("with bias", "linear", [fl([3, 4]), fl([5, 4]), fl([5])])
case("without bias, 3-D input", "linear", [fl([2, 3, 4]), fl([5, 4])])
case("1-D input", "linear", [fl([4]), fl([3, 4]), fl([3])])
case("transposed weight", "linear", [fl([3, 4]), fl([5, 4], permute=T), fl([5])])

case("with -1", "reshape", [fl([2, 3, 4])], shape=[4, -1])
case("transposed input (copy)", "reshape", [fl([3, 4], permute=T)], shape=[12])
case("split a dim", "view", [fl([6, 2])], shape=[2, 3, 2])
case("dims 0, 2", "transpose", [fl([2, 3, 4])], dim0=0, dim1=2)
case("[2, 0, 1]", "permute", [fl([2, 3, 4])], dims=[2, 0, 1])
case("all", "squeeze", [fl([1, 3, 1, 2])])
case("one dim", "squeeze", [fl([3, 1, 2])], dim=1)
case("several dims", "squeeze", [fl([1, 3, 1])], dim=[0, 2])
case("dim -1", "unsqueeze", [fl([3, 2])], dim=-1)
case("size-1 dim", "expand", [fl([3, 1])], shape=[3, 4])
case("new leading dims and -1", "expand", [fl([1, 2])], shape=[2, 3, -1, 2])
case("dims 1..2", "flatten", [fl([2, 3, 2])], startDim=1, endDim=2)
case("all dims, transposed", "flatten", [fl([3, 2], permute=T)])
case("dim 0", "cat", [fl([2, 3]), fl([1, 3]), fl([3, 3])], dim=0)
case("dim -1, transposed piece", "cat", [fl([2, 3], permute=T), fl([2, 2])], dim=-1)
case("dim 0", "stack", [fl([2, 3]), fl([2, 3])], dim=0)
case("dim -1", "stack", [fl([2, 3]), fl([2, 3], permute=T)], dim=-1)
case("equal size", "split", [fl([5, 2])], size=2, dim=0)
case("list of sizes", "split", [fl([2, 5])], size=[1, 3, 1], dim=1)
case("uneven", "chunk", [fl([2, 7])], chunks=3, dim=1)
case("dim 1", "narrow", [fl([3, 5])], dim=1, start=1, length=3)
case("step 2", "slice", [fl([3, 6])], dim=1, start=0, step=2)
case("negative start and end", "slice", [fl([6, 2])], dim=0, start=-4, end=-1)
case("dim 0", "select", [fl([3, 4])], dim=0, index=1)
case("negative index", "select", [fl([2, 3, 4])], dim=2, index=-1)
case("dim 1", "gather", [fl([3, 4]), it([0, 3, 3, 1, 2, 2], [3, 2])], dim=1)
case("dim 0, repeated", "gather", [fl([3, 2]), it([2, 2, 0, 2, 1, 1, 0, 0], [4, 2])], dim=0)
case("dim 0, repeated", "indexSelect", [fl([4, 3]), it([3, 0, 3, 1])], dim=0)
case("dim 1", "indexSelect", [fl([2, 4], permute=T), it([2, 2, 0])], dim=1)
case("1-D ids, repeated", "embedding", [it([4, 0, 4, 2]), fl([5, 3])])
case("2-D ids", "embedding", [it([0, 1, 3, 1, 1, 2], [2, 3]), fl([4, 2])])
case("broadcast mask", "maskedFill", [fl([2, 3, 4]), bl([1, 0, 1], [3, 1])], value=-2.0)
case("-Infinity", "maskedFill", [fl([3, 4]), bl([0, 1, 0, 1])], value=float("-inf"))
case("k = 0", "tril", [fl([3, 4])])
case("k = -1, batched", "tril", [fl([2, 3, 3])], k=-1)
case("k = 1", "triu", [fl([4, 3])], k=1)
case("k = 0, transposed", "triu", [fl([3, 3], permute=T)])

for op in ["softmax", "logSoftmax"]:
    case("last dim", op, [fl([3, 4], "large")], dim=-1)
    case("dim 0 of 3-D", op, [fl([3, 2, 2])], dim=0)
    case("middle dim, transposed", op, [fl([2, 3], permute=T)], dim=1)
case("no weight or bias", "layerNorm", [fl([3, 4])], normalizedShape=[4])
case("weight and bias", "layerNorm", [fl([3, 4]), fl([4]), fl([4])], normalizedShape=[4], weight=True, bias=True)
case("weight only", "layerNorm", [fl([2, 2, 3]), fl([3])], normalizedShape=[3], weight=True)
case("two normalized dims", "layerNorm", [fl([2, 2, 3]), fl([2, 3]), fl([2, 3])], normalizedShape=[2, 3], weight=True, bias=True)
case("transposed input, eps 0.1", "layerNorm", [fl([3, 4], permute=T), fl([4]), fl([4])], normalizedShape=[4], weight=True, bias=True, eps=0.1)
case("p = 0, training", "dropout", [fl([3, 4])], p=0.0, training=True)
case("p = 0.5, eval", "dropout", [fl([3, 4])], p=0.5, training=False)

T4 = it([1, 0, 3, 3])
for red in ["mean", "sum", "none"]:
    case(f"{red}", "crossEntropy", [fl([4, 5]), T4], reduction=red)
    case(f"ignoreIndex, {red}", "crossEntropy", [fl([4, 5]), it([1, -100, 3, 2])], reduction=red)
    case(f"labelSmoothing, {red}", "crossEntropy", [fl([4, 5]), T4], labelSmoothing=0.1, reduction=red)
    case(f"(N, C, d), {red}", "crossEntropy", [fl([2, 4, 3]), it([0, 3, 1, 2, 2, 0], [2, 3])], reduction=red)
case("labelSmoothing and ignoreIndex, sum", "crossEntropy", [fl([4, 5]), it([0, 4, 4, 1])], labelSmoothing=0.2, ignoreIndex=4, reduction="sum")
case("labelSmoothing and ignoreIndex, none", "crossEntropy", [fl([4, 5]), it([0, 4, 4, 1])], labelSmoothing=0.2, ignoreIndex=4, reduction="none")
case("labelSmoothing and ignoreIndex, mean", "crossEntropy", [fl([4, 5]), it([0, 4, 4, 1])], labelSmoothing=0.2, ignoreIndex=4)
case("(N, C, d1, d2), labelSmoothing", "crossEntropy", [fl([2, 3, 2, 2]), it([0, 1, 2, 2, 1, 1, 0, 2], [2, 2, 2])], labelSmoothing=0.1)
case("(C) input, 0-d target", "crossEntropy", [fl([5]), it([3], [])])
case("transposed logits", "crossEntropy", [fl([4, 5], "large", permute=T), T4])
for red in ["mean", "sum", "none"]:
    case(f"{red}", "nllLoss", [fl([3, 4]), it([2, 0, 1])], reduction=red)
    case(f"{red}", "mseLoss", [fl([3, 4]), fl([3, 4])], reduction=red)
    case(f"{red}", "binaryCrossEntropyWithLogits", [fl([3, 4], "large"), fl([3, 4], "prob")], reduction=red)
    case(f"posWeight, {red}", "binaryCrossEntropyWithLogits", [fl([3, 4]), fl([3, 4], "binary"), fl([4], "positive", grad=False)], reduction=red)
case("ignoreIndex", "nllLoss", [fl([3, 4]), it([2, -100, 1])])
case("custom ignoreIndex, sum", "nllLoss", [fl([3, 4], permute=T), it([2, 0, 2])], ignoreIndex=2, reduction="sum")
case("transposed", "mseLoss", [fl([3, 4], permute=T), fl([3, 4])])


def qkv(T, S, D=3, Dv=2, lead=(2, 2)):
    lead = list(lead)
    return [fl(lead + [T, D]), fl(lead + [S, D]), fl(lead + [S, Dv])]


BOOL_MASK = bl([1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1], [3, 5])  # every row keeps a key
case("no mask", "scaledDotProductAttention", qkv(3, 5))
case("no mask, 3-D", "scaledDotProductAttention", qkv(3, 4, 3, 3, [2]))
case("bool mask (T, S)", "scaledDotProductAttention", qkv(3, 5) + [BOOL_MASK])
case("float mask (B, 1, T, S)", "scaledDotProductAttention", qkv(3, 5) + [fl([2, 1, 3, 5], "mask", grad=False)])
case("isCausal, T == S", "scaledDotProductAttention", qkv(4, 4), isCausal=True)
case("isCausal, T < S", "scaledDotProductAttention", qkv(3, 5), isCausal=True)
case("isCausal, T > S", "scaledDotProductAttention", qkv(5, 3), isCausal=True)
case("custom scale", "scaledDotProductAttention", qkv(3, 3), scale=0.7)
case(
    "heads transposed (non-contiguous)",
    "scaledDotProductAttention",
    [fl([2, 2, 3, 3], permute=[0, 2, 1, 3]), fl([2, 2, 4, 3], permute=[0, 2, 1, 3]), fl([2, 2, 4, 2], permute=[0, 2, 1, 3])],
    isCausal=True,
)

# ---------------------------------------------------------------- running a case


def draw(spec, rng, np_dtype):
    """(stored record, torch tensor) for one input spec."""
    if spec["t"] == "int32":
        t = torch.tensor(spec["values"], dtype=torch.int64).reshape(spec["shape"])
        return {"dtype": "int32", "shape": spec["shape"], "values": spec["values"]}, t
    if spec["t"] == "bool":
        t = torch.tensor(spec["values"], dtype=torch.bool).reshape(spec["shape"])
        return {"dtype": "bool", "shape": spec["shape"], "values": spec["values"]}, t
    shape = spec["shape"]
    perm = spec["permute"]
    base_shape = list(shape)
    if perm is not None:
        for i, p in enumerate(perm):
            base_shape[p] = shape[i]
    n = int(np.prod(base_shape)) if base_shape else 1
    values = KINDS[spec["kind"]](rng.standard_normal(n)).astype(np_dtype)
    base = torch.from_numpy(values.copy()).reshape(base_shape)
    t = base.permute(perm) if perm is not None else base
    t = t.detach()
    if spec["grad"]:
        t.requires_grad_(True)
    rec = {"dtype": str(np_dtype.__name__), "shape": base_shape, "values": Floats(values)}
    if perm is not None:
        rec["permute"] = perm
    rec["requiresGrad"] = spec["grad"]
    return rec, t


class Floats:
    """A flat float array, written in its dtype's shortest round-trip form."""

    def __init__(self, arr):
        self.arr = np.asarray(arr).reshape(-1)

    def dump(self):
        out = []
        for v in self.arr:
            if np.isnan(v):
                out.append('"NaN"')
            elif np.isinf(v):
                out.append('"Infinity"' if v > 0 else '"-Infinity"')
            elif self.arr.dtype == np.float32:
                out.append(np.format_float_positional(v, unique=True, trim="-") if 1e-4 <= abs(v) < 1e6 or v == 0 else np.format_float_scientific(v, unique=True, trim="-"))
            else:
                out.append(repr(float(v)))
        return "[" + ",".join(out) + "]"


def tensor_record(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "values": Floats(t.numpy())}


def run_case(c, dtype_name):
    torch_dtype, np_dtype = DTYPES[dtype_name]
    rng = np.random.default_rng(zlib.crc32(c["name"].encode()))
    records, tensors = [], []
    for spec in c["inputs"]:
        rec, t = draw(spec, rng, np_dtype)
        records.append(rec)
        tensors.append(t)
    out = OPS[c["op"]](tensors, c["kwargs"])
    outs = out if isinstance(out, list) else [out]
    grad_outs = [torch.from_numpy(rng.standard_normal(o.numel()).astype(np_dtype)).reshape(o.shape) for o in outs]
    wrt = [t for t in tensors if t.requires_grad]
    grads = torch.autograd.grad(outs, wrt, grad_outs, allow_unused=True)
    grad_iter = iter(grads)
    grad_recs = []
    for t in tensors:
        if t.requires_grad:
            g = next(grad_iter)
            grad_recs.append(tensor_record(g if g is not None else torch.zeros_like(t)))
        else:
            grad_recs.append(None)
    for o in outs:
        assert o.dtype == torch_dtype, (c["name"], o.dtype)
    return {
        "name": c["name"],
        "op": c["op"],
        "dtype": dtype_name,
        "kwargs": c["kwargs"],
        "inputs": records,
        "outputs": [tensor_record(o) for o in outs],
        "gradOutputs": [tensor_record(g) for g in grad_outs],
        "grads": grad_recs,
    }


def dump(obj):
    if isinstance(obj, Floats):
        return obj.dump()
    if isinstance(obj, dict):
        return "{" + ",".join(json.dumps(k) + ":" + dump(v) for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ",".join(dump(v) for v in obj) + "]"
    if isinstance(obj, float) and not math.isfinite(obj):
        return '"NaN"' if math.isnan(obj) else ('"Infinity"' if obj > 0 else '"-Infinity"')
    return json.dumps(obj)


ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def unary_table():
    """The unary op table's rows (name, torch, domain), read from src/backend/op-table.ts."""
    js = (
        "import('./src/backend/op-table.ts').then((m) => console.log(JSON.stringify("
        "m.UNARY_OPS.map((r) => ({ name: r.name, torch: r.torch, domain: r.domain })))))"
    )
    out = subprocess.run(["node", "--import", "tsx", "-e", js], cwd=ROOT, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main_unary():
    """test/fixtures/ops/unary.json: each table row on a [3, 4] input and a transposed view, both dtypes."""
    rows = unary_table()
    cases = []
    for row in rows:
        fn = eval(row["torch"], {"torch": torch, "F": F})  # noqa: S307 - the table's own expression
        OPS[row["name"]] = unary(fn)
        for layout, permute in [("[3, 4]", None), ("transposed", T)]:
            cases.append({"name": f"{row['name']}: {layout}", "op": row["name"],
                          "inputs": [fl([3, 4], row["domain"], permute=permute)], "kwargs": {}})
    docs = []
    for dtype_name in DTYPES:
        torch.manual_seed(0)
        docs.append({
            "generator": "scripts/gen_op_fixtures.py unary",
            "torch_version": torch.__version__,
            "dtype": dtype_name,
            "cases": [run_case(c, dtype_name) for c in cases],
        })
    path = os.path.join(OUT_DIR, "unary.json")
    with open(path, "w") as f:
        f.write(dump(docs))
        f.write("\n")
    print(f"{path}: {len(rows)} ops, {os.path.getsize(path)} bytes")


def main():
    if sys.argv[1:] == ["unary"]:
        return main_unary()
    os.makedirs(OUT_DIR, exist_ok=True)
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)), "duplicate case names"
    for dtype_name in DTYPES:
        torch.manual_seed(0)
        cases = [run_case(c, dtype_name) for c in CASES]
        doc = {
            "generator": "scripts/gen_op_fixtures.py",
            "torch_version": torch.__version__,
            "dtype": dtype_name,
            "sdpa_reference": "math definition (softmax(q @ k^T * scale + bias) @ v), as documented for F.scaled_dot_product_attention",
            "cases": cases,
        }
        path = os.path.join(OUT_DIR, f"parity-{dtype_name}.json")
        with open(path, "w") as f:
            f.write(dump(doc))
            f.write("\n")
        print(f"{path}: {len(cases)} cases, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()

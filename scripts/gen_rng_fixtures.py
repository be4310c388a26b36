#!/usr/bin/python3
"""PyTorch's CPU random streams, for qkv's mt19937 Generator to reproduce.

Run with Debian's torch 1.13: /usr/bin/python3 scripts/gen_rng_fixtures.py. Writes

  test/fixtures/rng/torch-rng.json       uniform_/normal_/randint fills per seed, dtype and size, a
                                         mixed sequence on one generator, and state round trips
  test/fixtures/rng/torch-gpt-init.json  bench/torch_gpt.py's GPT built after torch.manual_seed(1337):
                                         a few parameters' first and last values, and its batch() offsets

Float arrays are stored as base64 of their little-endian bytes, so float32 values are exact.
"""
import base64, importlib.util, json, os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
OUT = os.path.join(ROOT, "test", "fixtures", "rng")

SEEDS = [0, 1, 1337, 2**32 + 5, 2**40 + 1337]
SIZES = [1, 7, 15, 16, 17, 33, 1000, 8320]
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def b64(t):
    a = t.numpy()
    return base64.b64encode(a.astype(a.dtype.newbyteorder("<")).tobytes()).decode()


def gen(seed):
    return torch.Generator().manual_seed(seed)


def fills():
    cases = []
    uniform_ranges = [(0.0, 1.0), (-0.08838834764831843, 0.08838834764831843), (0.3, 0.7)]
    normal_params = [(0.0, 1.0), (0.0, 0.02), (0.5, 2.0)]
    for seed in SEEDS:
        for n in SIZES:
            # Large sizes for fewer seeds and parameters, to keep the file small; 8320 is the
            # GPT's 65 x 128 embedding, in float32 only.
            if n >= 1000 and seed not in (0, 1337) or n == 8320 and seed != 1337:
                continue
            for dname, dt in DTYPES.items():
                if n == 8320 and dname != "float32":
                    continue
                for lo, hi in uniform_ranges[1:] if n >= 1000 else uniform_ranges:
                    t = torch.empty(n, dtype=dt).uniform_(lo, hi, generator=gen(seed))
                    cases.append(dict(kind="uniform", seed=seed, dtype=dname, n=n, low=lo, high=hi, values=b64(t)))
                for mean, std in normal_params[1:] if n >= 1000 else normal_params:
                    t = torch.empty(n, dtype=dt).normal_(mean, std, generator=gen(seed))
                    cases.append(dict(kind="normal", seed=seed, dtype=dname, n=n, mean=mean, std=std, values=b64(t)))
            if n > 1000:
                continue
            ranges = [(0, 10), (0, 1003790), (-7, 2**31), (0, 2**32), (0, 2**33), (-(2**40), 2**45)]
            for lo, hi in ranges[1::3] if n == 1000 else ranges:
                t = torch.randint(lo, hi, (n,), generator=gen(seed))
                cases.append(dict(kind="randint", seed=seed, n=n, low=lo, high=hi, values=t.tolist()))
    # torch.rand / torch.randn are uniform_(0, 1) / normal_(0, 1) on a fresh tensor.
    for seed in (0, 1337):
        for n in (7, 100):
            cases.append(dict(kind="rand", seed=seed, dtype="float32", n=n, values=b64(torch.rand(n, generator=gen(seed)))))
            cases.append(dict(kind="randn", seed=seed, dtype="float32", n=n, values=b64(torch.randn(n, generator=gen(seed)))))
    # Module constructors: nn.Linear's kaiming-uniform weight then bias, nn.Embedding's normal_(0, 1).
    for seed in (0, 1337):
        for fan_in, fan_out, bias in [(3, 5, True), (128, 10, True), (384, 7, False), (1000, 3, True)]:
            torch.manual_seed(seed)
            m = torch.nn.Linear(fan_in, fan_out, bias=bias)
            case = dict(kind="linear", seed=seed, inFeatures=fan_in, outFeatures=fan_out, bias=bias,
                        weight=b64(m.weight.detach().reshape(-1)), after=torch.randint(0, 2**31, (2,)).tolist())
            if bias:
                case["biasValues"] = b64(m.bias.detach())
            cases.append(case)
        for num, dim in [(3, 5), (65, 128)] if seed == 1337 else [(3, 5)]:
            torch.manual_seed(seed)
            m = torch.nn.Embedding(num, dim)
            cases.append(dict(kind="embedding", seed=seed, numEmbeddings=num, embeddingDim=dim,
                              weight=b64(m.weight.detach().reshape(-1))))
    return cases


def views():
    """Fills of non-contiguous views: torch visits them in memory order, one scalar draw at a time."""
    cases = []
    for seed in (0, 1337):
        for base, view, kind, a, b in [
            ([4, 8], "t", "normal", 0.0, 1.0),
            ([6, 5], "t", "uniform", -0.5, 0.5),
            ([2, 3, 4], "permute201", "normal", 0.0, 0.02),
            ([2, 3, 4], "permute201", "uniform", 0.0, 1.0),
            ([6, 10], "narrow1_2_5", "normal", 1.0, 2.0),
        ]:
            for dname, dt in DTYPES.items():
                x = torch.zeros(base, dtype=dt)
                v = {"t": lambda x: x.t(), "permute201": lambda x: x.permute(2, 0, 1),
                     "narrow1_2_5": lambda x: x.narrow(1, 2, 5)}[view](x)
                (v.normal_ if kind == "normal" else v.uniform_)(a, b, generator=gen(seed))
                cases.append(dict(seed=seed, base=base, view=view, kind=kind, dtype=dname, a=a, b=b,
                                  values=b64(v.contiguous().reshape(-1))))
    return cases


def sequence(seed):
    """Calls on one generator in a row: the cached normal spare and each call's draw count carry over."""
    g = gen(seed)
    steps = []
    for kind, dname, n, a, b in [
        ("normal", "float64", 1, 0.0, 1.0),  # leaves a spare behind
        ("uniform", "float32", 5, -1.0, 1.0),
        ("normal", "float32", 3, 1.0, 0.5),  # takes the spare first
        ("normal", "float32", 40, 0.0, 0.02),  # 16-blocks: does not touch the spare
        ("randint", "int64", 4, 0, 1003790),
        ("normal", "float64", 2, 0.0, 1.0),
        ("uniform", "float64", 3, 0.0, 1.0),
        ("normal", "float64", 20, 0.0, 1.0),
    ]:
        if kind == "randint":
            v = torch.randint(a, b, (n,), generator=g).tolist()
        else:
            t = torch.empty(n, dtype=DTYPES[dname])
            (t.normal_ if kind == "normal" else t.uniform_)(a, b, generator=g)
            v = b64(t)
        steps.append(dict(kind=kind, dtype=dname, n=n, a=a, b=b, values=v))
    return dict(seed=seed, steps=steps)


def load_twin():
    spec = importlib.util.spec_from_file_location("torch_gpt", os.path.join(ROOT, "bench", "torch_gpt.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def gpt_init():
    twin = load_twin()
    V, T, L, nh, C, seed, B = 65, 64, 4, 4, 128, 1337, 12
    torch.manual_seed(seed)
    model = twin.GPT(V, T, L, nh, C)
    # The twin's Block flattens the MLP; qkv nests it as mlp.c_fc / mlp.c_proj.
    names = {
        "wte.weight": "wte.weight",
        "wpe.weight": "wpe.weight",
        "h.0.c_attn.weight": "h.0.attn.c_attn.weight",
        "h.1.c_proj.weight": "h.1.attn.c_proj.weight",
        "h.2.c_fc.weight": "h.2.mlp.c_fc.weight",
        "h.3.mlp_proj.weight": "h.3.mlp.c_proj.weight",
    }
    params = dict(model.named_parameters())
    out = {}
    for tn, qn in names.items():
        flat = params[tn].detach().reshape(-1)
        out[qn] = dict(shape=list(params[tn].shape), first=b64(flat[:8]), last=b64(flat[-8:]),
                       sum=float(flat.double().sum()), sumsq=float((flat.double() ** 2).sum()))
    # After construction, the global stream is where training's dropout would continue from.
    after = torch.randint(0, 2**31, (4,)).tolist()
    # batch(): ix = torch.randint(len(train) - T, (B,), generator=g) on a separate generator.
    n_text = 1115394  # characters in data/tinyshakespeare.txt
    train_len = int(n_text * 0.9)
    g = gen(seed)
    offsets = [torch.randint(train_len - T, (B,), generator=g).tolist() for _ in range(3)]
    return dict(torch=torch.__version__, config=dict(vocabSize=V, blockSize=T, nLayer=L, nHead=nh, nEmbd=C, bias=False),
                seed=seed, params=out, globalAfterInit=after, trainLength=train_len, batchSize=B, batchOffsets=offsets)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = dict(torch=torch.__version__, cases=fills(), views=views(), sequences=[sequence(s) for s in (0, 1337)])
    with open(os.path.join(OUT, "torch-rng.json"), "w") as f:
        json.dump(rng, f, separators=(",", ":"))
    with open(os.path.join(OUT, "torch-gpt-init.json"), "w") as f:
        json.dump(gpt_init(), f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()

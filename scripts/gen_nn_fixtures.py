#!/usr/bin/python3
"""Generate the torch parity goldens used by test/nn and test/optim (Debian's /usr/bin/python3).

    /usr/bin/python3 scripts/gen_nn_fixtures.py

Writes four JSON files to test/fixtures/nn/, each recording torch.__version__:

  optimizers.json  10 steps of torch.optim (SGD, Adam, AdamW, RMSprop) on fixed parameters with
                   fixed per-step gradients; the gradients and every step's parameters are stored.
  schedules.json   lr per step for StepLR, LambdaLR with nanoGPT's warmup+cosine and with the
                   "Attention Is All You Need" inverse-sqrt warmup (the lambdas are given below).
  module.json      a Linear -> GELU -> LayerNorm -> Linear stack: state dict, input, output and
                   every parameter's gradient of loss = sum(out * lossWeights).
  clip.json        torch.nn.utils.clip_grad_norm_ total norms and clipped gradients.

Float values are written as Python floats (repr round-trips), so float32 values load exactly into
a Float32Array. Everything is seeded: a rerun reproduces the same files.
"""

import json
import math
import os

import torch

OUT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "nn")
DTYPES = {torch.float32: "float32", torch.float64: "float64"}


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def tens(t):
    return {"shape": list(t.shape), "dtype": DTYPES[t.dtype], "data": flat(t)}


def write(name, obj):
    obj = {"torch": torch.__version__, **obj}
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


# ------------------------------------------------------------------------------- optimizers

# Scales of the per-step gradients: varying magnitudes make AMSGrad's running max matter.
GRAD_SCALES = [1.0, 3.0, 0.5, 2.0, 0.25, 1.5, 4.0, 0.1, 1.0, 0.75]
STEPS = 10


def optimizer_case(name, cls, dtype, groups_spec, defaults, ts_name, ts_groups, ts_defaults):
    """groups_spec: list of (param indices, torch options); the qkv options are given alongside."""
    g = torch.Generator().manual_seed(1234)
    shapes = [(3, 4), (4,)]
    params = [torch.randn(s, generator=g, dtype=torch.float64).to(dtype).requires_grad_() for s in shapes]
    grads = [
        [(torch.randn(s, generator=g, dtype=torch.float64) * GRAD_SCALES[k]).to(dtype) for s in shapes]
        for k in range(STEPS)
    ]
    initial = [tens(p) for p in params]
    if groups_spec is None:
        opt = cls(params, **defaults)
    else:
        opt = cls([{"params": [params[i] for i in idx], **o} for idx, o in groups_spec], **defaults)
    history = []
    for k in range(STEPS):
        for p, gr in zip(params, grads[k]):
            p.grad = gr.clone()
        opt.step()
        history.append([flat(p) for p in params])
    return {
        "name": name,
        "optimizer": ts_name,
        "dtype": DTYPES[dtype],
        "groups": ts_groups,
        "defaults": ts_defaults,
        "params": initial,
        "grads": [[flat(x) for x in step] for step in grads],
        "history": history,
    }


def optimizers():
    f32, f64 = torch.float32, torch.float64
    cases = [
        optimizer_case(
            "sgd momentum nesterov weight decay", torch.optim.SGD, f32, None,
            dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
            "SGD", None, dict(lr=0.1, momentum=0.9, nesterov=True, weightDecay=0.01),
        ),
        optimizer_case(
            "sgd momentum with dampening", torch.optim.SGD, f32, None,
            dict(lr=0.05, momentum=0.8, dampening=0.3),
            "SGD", None, dict(lr=0.05, momentum=0.8, dampening=0.3),
        ),
        optimizer_case(
            "sgd plain", torch.optim.SGD, f32, None, dict(lr=0.1), "SGD", None, dict(lr=0.1),
        ),
        optimizer_case(
            "sgd maximize with weight decay", torch.optim.SGD, f32, None,
            dict(lr=0.1, weight_decay=0.05, maximize=True),
            "SGD", None, dict(lr=0.1, weightDecay=0.05, maximize=True),
        ),
        optimizer_case(
            "adam", torch.optim.Adam, f32, None, dict(lr=1e-2), "Adam", None, dict(lr=1e-2),
        ),
        optimizer_case(
            "adam amsgrad l2", torch.optim.Adam, f32, None,
            dict(lr=1e-2, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01, amsgrad=True),
            "Adam", None, dict(lr=1e-2, betas=[0.8, 0.99], eps=1e-6, weightDecay=0.01, amsgrad=True),
        ),
        optimizer_case(
            "adamw decay with a no-decay group", torch.optim.AdamW, f32,
            [([0], {}), ([1], dict(weight_decay=0.0))],
            dict(lr=1e-2, weight_decay=0.1),
            "AdamW", [{"params": [0]}, {"params": [1], "weightDecay": 0.0}], dict(lr=1e-2, weightDecay=0.1),
        ),
        optimizer_case(
            "rmsprop centered momentum", torch.optim.RMSprop, f32, None,
            dict(lr=1e-2, alpha=0.9, eps=1e-8, weight_decay=0.01, momentum=0.9, centered=True),
            "RMSprop", None, dict(lr=1e-2, alpha=0.9, eps=1e-8, weightDecay=0.01, momentum=0.9, centered=True),
        ),
        optimizer_case(
            "rmsprop plain", torch.optim.RMSprop, f32, None, dict(lr=1e-2), "RMSprop", None, dict(lr=1e-2),
        ),
        optimizer_case(
            "float64 sgd momentum nesterov weight decay", torch.optim.SGD, f64, None,
            dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
            "SGD", None, dict(lr=0.1, momentum=0.9, nesterov=True, weightDecay=0.01),
        ),
        optimizer_case(
            "float64 adamw amsgrad", torch.optim.AdamW, f64, None,
            dict(lr=1e-2, weight_decay=0.1, amsgrad=True),
            "AdamW", None, dict(lr=1e-2, weightDecay=0.1, amsgrad=True),
        ),
        optimizer_case(
            "float64 rmsprop centered momentum", torch.optim.RMSprop, f64, None,
            dict(lr=1e-2, alpha=0.9, weight_decay=0.01, momentum=0.9, centered=True),
            "RMSprop", None, dict(lr=1e-2, alpha=0.9, weightDecay=0.01, momentum=0.9, centered=True),
        ),
    ]
    write("optimizers.json", {"steps": STEPS, "cases": cases})


# -------------------------------------------------------------------------------- schedules


def nanogpt_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
    """nanoGPT's get_lr, verbatim apart from the parameters."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    assert 0 <= decay_ratio <= 1
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio))
    return min_lr + coeff * (learning_rate - min_lr)


def inverse_sqrt_rate(step, d_model, warmup, factor):
    """Vaswani et al. (2017), eq. (3), scaled by `factor`; step counts from 1."""
    return factor * (d_model ** (-0.5) * min(step ** (-0.5), step * warmup ** (-1.5)))


def run_schedule(make, base_lr, steps):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base_lr)
    sched = make(opt)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(steps):
        opt.step()  # no gradients: a no-op that keeps torch's call-order check quiet
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


def schedules():
    steps = 60
    cos = dict(lr=6e-4, warmupIters=10, lrDecayIters=50, minLr=6e-5)
    inv = dict(dModel=512, warmup=40, factor=2.0)
    step_lr = dict(lr=0.1, stepSize=7, gamma=0.5)
    lam_lr = 0.05
    out = {
        "steps": steps,
        "stepLR": {
            **step_lr,
            "lrs": run_schedule(
                lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=step_lr["stepSize"], gamma=step_lr["gamma"]),
                step_lr["lr"], steps,
            ),
        },
        "lambdaLR": {
            "lr": lam_lr,
            "lambda": "0.95 ** e",
            "lrs": run_schedule(lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 0.95 ** e), lam_lr, steps),
        },
        "cosineWithWarmup": {
            **cos,
            # torch's LambdaLR with lambda it: get_lr(it) / lr, and nanoGPT's get_lr(it) itself.
            "lrs": run_schedule(
                lambda o: torch.optim.lr_scheduler.LambdaLR(
                    o, lambda it: nanogpt_lr(it, cos["lr"], cos["warmupIters"], cos["lrDecayIters"], cos["minLr"]) / cos["lr"]
                ),
                cos["lr"], steps,
            ),
            "direct": [nanogpt_lr(it, cos["lr"], cos["warmupIters"], cos["lrDecayIters"], cos["minLr"]) for it in range(steps + 1)],
        },
        "inverseSqrtWarmup": {
            **inv,
            "lr": 1.0,
            # LambdaLR's epoch e is training step e + 1 (the paper's step_num starts at 1).
            "lrs": run_schedule(
                lambda o: torch.optim.lr_scheduler.LambdaLR(
                    o, lambda e: inverse_sqrt_rate(e + 1, inv["dModel"], inv["warmup"], inv["factor"])
                ),
                1.0, steps,
            ),
        },
    }
    write("schedules.json", out)


# ----------------------------------------------------------------------------------- module


def module():
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.GELU(), torch.nn.LayerNorm(8), torch.nn.Linear(8, 3)
    )
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        # Non-trivial LayerNorm affine parameters, so their gradients and use are both tested.
        net[2].weight.copy_(1 + 0.3 * torch.randn(8, generator=g))
        net[2].bias.copy_(0.2 * torch.randn(8, generator=g))
    x = torch.randn(6, 5, generator=g)
    w = torch.randn(6, 3, generator=g)
    out = net(x)
    (out * w).sum().backward()
    write(
        "module.json",
        {
            "description": "Sequential(Linear(5, 8), GELU(), LayerNorm(8), Linear(8, 3)); loss = sum(out * lossWeights)",
            "stateDict": {k: tens(v) for k, v in net.state_dict().items()},
            "input": tens(x),
            "lossWeights": tens(w),
            "output": tens(out),
            "grads": {k: tens(p.grad) for k, p in net.named_parameters()},
        },
    )


# ------------------------------------------------------------------------------------- clip


def clip():
    cases = []
    for name, max_norm, norm_type in [
        ("l2 clipped", 1.0, 2.0),
        ("l2 not clipped", 100.0, 2.0),
        ("l1 clipped", 2.0, 1.0),
        ("inf clipped", 0.5, math.inf),
        ("l3 clipped", 1.0, 3.0),
    ]:
        g = torch.Generator().manual_seed(99)
        shapes = [(4, 3), (3,), (2, 2)]
        grads = [torch.randn(s, generator=g) * 2 for s in shapes]
        params = [torch.zeros(s, requires_grad=True) for s in shapes]
        for p, gr in zip(params, grads):
            p.grad = gr.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type)
        cases.append(
            {
                "name": name,
                "maxNorm": max_norm,
                "normType": "inf" if math.isinf(norm_type) else norm_type,
                "grads": [tens(x) for x in grads],
                "totalNorm": float(total),
                "clipped": [tens(p.grad) for p in params],
            }
        )
    write("clip.json", {"cases": cases})


if __name__ == "__main__":
    torch.set_num_threads(1)
    optimizers()
    schedules()
    module()
    clip()
    print(f"wrote fixtures with torch {torch.__version__} to {os.path.normpath(OUT_DIR)}")

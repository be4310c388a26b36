"""HF's side of bench/load.ts: one GPT2LMHeadModel.from_pretrained(dir) in this process, then a
first forward (8 tokens). Prints one JSON line: load seconds, VmRSS/VmHWM (MiB) after load, the
forward's seconds, VmRSS after it (HF maps the file, so its pages become resident as they are
first touched) and the logits' sum.

    python bench/load_torch.py /tmp/gpt2-small
"""

import json
import sys
import time


def vm(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return -1.0


def main():
    folder = sys.argv[1]
    import torch
    from transformers import GPT2LMHeadModel

    torch.set_num_threads(1)
    base = vm("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    model = GPT2LMHeadModel.from_pretrained(folder)
    load_s, load_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    rss, hwm = vm("VmRSS"), vm("VmHWM")
    ids = torch.arange(8).reshape(1, 8) % model.config.vocab_size
    t1 = time.perf_counter()
    with torch.no_grad():
        logits = model(ids).logits
    forward_s = time.perf_counter() - t1
    print(
        json.dumps(
            {
                "load_s": load_s,
                "load_cpu_s": load_cpu_s,
                "rss_before_mib": base,
                "rss_mib": rss,
                "hwm_mib": hwm,
                "forward_s": forward_s,
                "rss_after_forward_mib": vm("VmRSS"),
                "checksum": float(logits.double().sum()),
            }
        )
    )


main()

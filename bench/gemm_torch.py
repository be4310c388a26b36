"""PyTorch side of bench/gemm.ts, run as a small line-oriented server so the two libraries can be
measured alternately (the machine may be shared; interleaving keeps the comparison fair).

Each input line is a JSON request
    {"M": .., "N": .., "K": .., "transA": bool, "transB": bool, "threads": n, "minTime": s, "copies": n}
and gets one JSON line back: {"gflops": best-of-one-trial} (a trial repeats the product for about
minTime seconds). Transposed operands are transposed views of contiguous buffers, as in qkv. `copies` (default 1)
distinct B operands are cycled through, so B can be made to come from memory rather than cache.
The first line printed is {"torch": "<version>"} or {"error": "..."}.
"""
import json
import sys
import time


def main():
    try:
        import torch
    except Exception as e:  # torch missing or broken
        print(json.dumps({"error": f"import torch failed: {e}"}), flush=True)
        return
    print(json.dumps({"torch": torch.__version__}), flush=True)
    torch.manual_seed(0)
    cache = {}
    for line in sys.stdin:
        if not line.strip():
            continue
        s = json.loads(line)
        M, N, K = s["M"], s["N"], s["K"]
        copies = max(1, int(s.get("copies", 1)))
        key = (M, N, K, s["transA"], s["transB"], copies)
        if key not in cache:
            a = torch.randn(K, M) if s["transA"] else torch.randn(M, K)
            bs = [torch.randn(N, K).t() if s["transB"] else torch.randn(K, N) for _ in range(copies)]
            cache = {key: (a.t() if s["transA"] else a, bs, torch.empty(M, N), [1])}
        A, Bs, c, reps_box = cache[key]
        if torch.get_num_threads() != s["threads"]:
            torch.set_num_threads(s["threads"])
        for B in Bs * 2:
            torch.matmul(A, B, out=c)
        reps = reps_box[0]
        while True:  # calibrate so one trial lasts about minTime
            t = time.perf_counter()
            for i in range(reps):
                torch.matmul(A, Bs[i % copies], out=c)
            dt = time.perf_counter() - t
            if dt >= s["minTime"] or reps >= 1 << 20:
                break
            reps *= 2
        reps_box[0] = reps
        print(json.dumps({"gflops": 2.0 * M * N * K * reps / dt / 1e9}), flush=True)


if __name__ == "__main__":
    main()

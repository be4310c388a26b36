// The qkv side of the PyTorch DDP round trip (scripts/ddp-roundtrip.sh), without Python: the
// fixture test/fixtures/ddp/ is what scripts/ddp_train.py saved after continuing a qkv run on two
// gloo ranks, with PyTorch's logits for a fixed batch in reference_logits.json. It was made by
//   qkv train --model gpt --preset tiny --n-layer 1 --n-head 2 --n-embd 16 --block-size 16 --bias true \
//     --max-iters 5 --eval-interval 5 --eval-iters 2 --sample-tokens 0 --out-dir /tmp/ddp-fx/qkv
//   torchrun --standalone --nproc_per_node 2 scripts/ddp_train.py --model /tmp/ddp-fx/qkv/last \
//     --data data/tinyshakespeare.txt --out /tmp/ddp-fx/ddp --steps 5 --batch-size 4
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compareLogits, parseReference, type ReferenceLogits } from "../../scripts/compare-logits.js";

const ROOT = resolve(import.meta.dirname, "../..");
const FIXTURE = join(ROOT, "test/fixtures/ddp");
const REF_FILE = join(FIXTURE, "reference_logits.json");
const dir = mkdtempSync(join(tmpdir(), "qkv-ddp-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reference = (): ReferenceLogits & { world_size: number } => JSON.parse(readFileSync(REF_FILE, "utf8"));

function compareCli(args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "scripts/compare-logits.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, QKV_BACKEND: "cpu" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("a GPT folder trained by PyTorch DDP loads in qkv with PyTorch's logits", () => {
  it("matches reference_logits.json within 1e-4 (two ranks trained it)", async () => {
    const ref = reference();
    expect(ref.world_size).toBe(2);
    const { maxAbsDiff, shape } = await compareLogits(FIXTURE, parseReference(ref, REF_FILE));
    expect(shape).toEqual([2, 16, 65]);
    expect(maxAbsDiff).toBeLessThan(1e-4);
  });

  it("finds a single perturbed logit and where it sits", async () => {
    const ref = reference();
    const V = ref.shape[2];
    const i = 1 * 16 * V + 7 * V + 30; // [1, 7, 30]
    ref.logits[i] += 1e-2;
    const { maxAbsDiff, at } = await compareLogits(FIXTURE, ref);
    expect(at).toEqual([1, 7, 30]);
    expect(maxAbsDiff).toBeGreaterThan(0.9e-2);
    expect(maxAbsDiff).toBeLessThan(1.1e-2);
  });

  it("counts a NaN as an infinite difference", async () => {
    const ref = reference();
    ref.logits[5] = Number.NaN;
    expect((await compareLogits(FIXTURE, ref)).maxAbsDiff).toBe(Number.POSITIVE_INFINITY);
  });

  it("names the field of a malformed reference", () => {
    const ref = reference();
    expect(() => parseReference({ ...ref, logits: ref.logits.slice(1) }, "r.json")).toThrow(
      /r\.json.*"logits"/,
    );
    expect(() => parseReference({ ...ref, ids: [[1, 2], [3]] }, "r.json")).toThrow(/"ids"/);
    expect(() => parseReference({ ...ref, shape: [2, 15, 65] }, "r.json")).toThrow(/"shape"/);
  });
});

describe("scripts/compare-logits.ts exit codes (the round trip's pass/fail)", () => {
  it("exits 0 on the fixture, 1 on logits off by more than --tol, 2 on a bad reference", () => {
    const ok = compareCli([FIXTURE]);
    expect(ok.out).toMatch(/max \|Δlogit\| qkv vs PyTorch = [\d.e+-]+ .*OK/);
    expect(ok.code).toBe(0);

    const bad = reference();
    bad.logits[0] += 1e-3;
    const badFile = join(dir, "off.json");
    writeFileSync(badFile, JSON.stringify(bad));
    const off = compareCli([FIXTURE, badFile, "--tol", "1e-4"]);
    expect(off.out).toMatch(/FAIL/);
    expect(off.code).toBe(1);
    // The same difference passes a looser tolerance: the threshold is the flag's, not a constant.
    expect(compareCli([FIXTURE, badFile, "--tol", "1e-2"]).code).toBe(0);

    const folder = join(dir, "no-ref");
    cpSync(FIXTURE, folder, { recursive: true });
    writeFileSync(join(folder, "reference_logits.json"), JSON.stringify({ ids: [[1]], shape: [1, 1, 65] }));
    const broken = compareCli([folder]);
    expect(broken.out).toMatch(/"logits"/);
    expect(broken.code).toBe(2);
  });
});

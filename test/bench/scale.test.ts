/**
 * bench/scale.ts without timing anything: its FLOP formula against a matmul-by-matmul count, its
 * table, its flags, and the child-process protocol on the tiny size with no python.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  configurations,
  formatScaleTable,
  gptConfig,
  lcgTokens,
  median,
  parseScaleArgs,
  runQkvChild,
  type ScaleRow,
  trainFlops,
} from "../../bench/scale.js";
import { GPT } from "../../src/index.js";

const root = join(import.meta.dirname, "../..");

describe("trainFlops", () => {
  it("is 3× the forward's matmul FLOPs, counted one product at a time", () => {
    const c = { nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: 64 };
    const [B, T] = [2, 8];
    const hs = c.nEmbd / c.nHead;
    const C = c.nEmbd;
    const mm = (batch: number, M: number, K: number, N: number) => 2 * batch * M * K * N;
    const perLayer =
      mm(1, B * T, C, 3 * C) + // c_attn
      mm(B * c.nHead, T, hs, T) + // q·kᵀ
      mm(B * c.nHead, T, T, hs) + // att·v
      mm(1, B * T, C, C) + // attn.c_proj
      mm(1, B * T, C, 4 * C) + // c_fc
      mm(1, B * T, 4 * C, C); // mlp.c_proj
    const forward = c.nLayer * perLayer + mm(1, B * T, C, c.vocabSize); // + lm_head
    expect(trainFlops(c, B, T)).toBe(3 * forward);
    expect(trainFlops(c, B, T)).toBe(2_654_208);
  });

  it("grows with size as the configs say (gpt2 has 124M parameters, gpt2-medium 355M)", () => {
    const count = (size: string) => {
      const cfg = gptConfig(size, 1);
      const { nLayer: L, nEmbd: C, vocabSize: V, blockSize: P } = cfg;
      // wte + wpe + per layer (2 LayerNorms, c_attn, c_proj, c_fc, mlp c_proj, with biases) + ln_f
      return (
        V * C +
        P * C +
        L * (4 * C + 3 * C * C + 3 * C + C * C + C + 4 * C * C + 4 * C + 4 * C * C + C) +
        2 * C
      );
    };
    expect(count("gpt2")).toBe(124_439_808);
    expect(count("gpt2-medium")).toBe(354_823_168);
    const tiny = gptConfig("tiny", 8);
    expect(new GPT(tiny).parameters().reduce((n, p) => n + p.numel(), 0)).toBe(count("tiny"));
  });
});

describe("parseScaleArgs", () => {
  it("reads lists and numbers", () => {
    const o = parseScaleArgs(
      "--sizes small,gpt2 --seq 128,512 --batch 4 --threads 1,2 --rounds 3 --anchors eager,compile --workload train,load --steps 7".split(
        " ",
      ),
    );
    expect(o.sizes).toEqual(["small", "gpt2"]);
    expect(o.seq).toEqual([128, 512]);
    expect(o.threads).toEqual([1, 2]);
    expect(o.anchors).toEqual(["eager", "compile"]);
    expect(o.workloads).toEqual(["train", "load"]);
    expect([o.rounds, o.steps, o.json]).toEqual([3, 7, null]);
  });

  it.each([
    [["--sizes", "gpt3"], /--sizes takes tiny, small, gpt2, gpt2-medium; got "gpt3"/],
    [["--seq", "128,abc"], /--seq takes positive integers, got "abc"/],
    [["--threads", "0"], /--threads takes positive integers, got "0"/],
    [["--rounds", "1.5"], /--rounds takes an integer ≥ 1, got "1.5"/],
    [["--steps"], /--steps needs a value/],
    [["--steps", "--rounds", "2"], /--steps needs a value/],
    [["--thread", "2"], /unknown flag --thread/],
    [["gpt2"], /unexpected argument "gpt2"/],
    [["--anchors", "jit"], /--anchors takes eager, compile; got "jit"/],
    [["--workload", "infer"], /--workload takes train, load, generate; got "infer"/],
  ])("rejects %j", (argv, msg) => {
    expect(() => parseScaleArgs(argv)).toThrow(msg);
  });

  it("lists train configurations per sequence and batch, the others once per size and thread count", () => {
    const o = parseScaleArgs(
      "--sizes small,gpt2 --seq 64,128 --batch 1 --threads 1,2 --workload generate,train".split(" "),
    );
    const c = configurations(o);
    expect(c.filter((s) => s.workload === "train")).toHaveLength(8);
    expect(c.filter((s) => s.workload === "generate")).toHaveLength(4);
    expect(c[0]).toMatchObject({ workload: "train", size: "small", seq: 64, threads: 1 });
    expect(c.at(-1)).toMatchObject({ workload: "generate", size: "gpt2", threads: 2 });
  });
});

describe("formatScaleTable", () => {
  it("gives medians with ranges, ratios, GFLOP/s with the share of peak, and n/a for a missing side", () => {
    const flops = 2e9;
    const rows: ScaleRow[] = [
      {
        workload: "train",
        size: "small",
        seq: 64,
        batch: 12,
        threads: 2,
        flops,
        sides: {
          qkv: { ms: [110, 100, 130], rssMiB: [200, 210, 190], errors: [] },
          "torch-eager": { ms: [50, 40, 60], rssMiB: [400, 400, 400], errors: [] },
        },
      },
      {
        workload: "load",
        size: "gpt2",
        seq: 0,
        batch: 1,
        threads: 1,
        flops: 0,
        sides: { qkv: { ms: [900], rssMiB: [600], errors: [] } },
      },
    ];
    const lines = formatScaleTable(rows, ["eager", "compile"], { 2: 40 }).split("\n");
    expect(lines[0]).toBe(
      "| workload | size | T | B | thr | qkv ms | torch eager ms | qkv/eager | torch compile ms | qkv/compile | qkv GF/s (% peak) | torch GF/s (% peak) | qkv RSS MiB | torch RSS MiB |",
    );
    // 2 GFLOP in 110 ms = 18.2 GF/s = 45% of 40; torch 2 GFLOP in 50 ms = 40 GF/s = 100%.
    expect(lines[2]).toBe(
      "| train | small | 64 | 12 | 2 | 110 (100–130) | 50.0 (40.0–60.0) | 2.20× | n/a | n/a | 18.2 (45%) | 40.0 (100%) | 210 | 400 |",
    );
    expect(lines[3]).toBe("| load | gpt2 | – | 1 | 1 | 900 | n/a | n/a | – | – | – | – | 600 | n/a |");
  });

  it("median and the shared token stream", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    // s1 = 1013904223, s2 = 1664525·s1 + 1013904223 mod 2³² = 1196435762
    expect(Array.from(lcgTokens(2, 1 << 30, 0))).toEqual([1013904223 % (1 << 30), 1196435762 % (1 << 30)]);
  });
});

describe("the child-process protocol, tiny size, no python", () => {
  it("runs a train child in-process: finite loss near ln V and the tiny model's parameter count", async () => {
    const r = await runQkvChild({
      workload: "train",
      size: "tiny",
      seq: 8,
      batch: 2,
      threads: 1,
      steps: 2,
      warmup: 0,
      seed: 1,
      newTokens: 4,
      backend: "cpu",
      dir: "",
    });
    expect(r.side).toBe("qkv");
    expect(r.ms).toHaveLength(2);
    expect(Math.abs(r.firstLoss! - Math.log(64))).toBeLessThan(0.5);
    expect(r.params).toBe(new GPT(gptConfig("tiny", 8)).parameters().reduce((n, p) => n + p.numel(), 0));
    expect(r.peakRssMiB).toBeGreaterThan(0);
  });

  it("the whole command, with a python that does not exist: qkv's figures, torch n/a, JSON written", () => {
    const dir = mkdtempSync(join(tmpdir(), "qkv-scale-"));
    try {
      const out = join(dir, "out.json");
      const r = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          join(root, "bench/scale.ts"),
          ...[
            "--sizes",
            "tiny",
            "--seq",
            "8",
            "--batch",
            "2",
            "--threads",
            "1",
            "--rounds",
            "1",
            "--steps",
            "1",
          ],
          ...["--warmup", "0", "--workload", "train,load,generate", "--new-tokens", "4", "--backend", "cpu"],
          ...["--python", join(dir, "no-python"), "--cache-dir", join(dir, "cache"), "--json", out],
        ],
        { encoding: "utf8", timeout: 60_000, cwd: root },
      );
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain("torch: n/a (");
      expect(r.stdout).toMatch(/\| train \| tiny \| 8 \| 2 \| 1 \| [\d.]+ \| n\/a \| n\/a \|/);
      expect(existsSync(join(dir, "cache/tiny-seed1337/model.safetensors"))).toBe(true); // qkv saved it
      const json = JSON.parse(readFileSync(out, "utf8"));
      expect(json.rows.map((x: ScaleRow) => x.workload)).toEqual(["train", "load", "generate"]);
      for (const row of json.rows) expect(row.sides.qkv.ms).toHaveLength(1);
      expect(json.rows[2].sides.qkv.ids).toHaveLength(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a bad flag exits 2 with the reason on stderr", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", join(root, "bench/scale.ts"), "--sizes", "huge"],
      {
        encoding: "utf8",
        timeout: 30_000,
        cwd: root,
      },
    );
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--sizes takes tiny, small, gpt2, gpt2-medium; got "huge"');
  });
});

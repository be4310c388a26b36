/**
 * Node file helpers: atomic file/JSON/safetensors writes, readable errors for missing or
 * malformed files, the folder swap protocol and its recovery, and SIGKILL crash tests.
 */

import { spawn } from "node:child_process";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import {
  makeTempDirFor,
  oldDirPath,
  readJson,
  readSafetensorsFile,
  readSafetensorsHeaderFile,
  recoverDir,
  replaceDirAtomic,
  writeFileAtomic,
  writeJsonAtomic,
  writeSafetensorsFile,
} from "../../src/io/node-fs.js";
import { type RawTensor, SafetensorsError, serializeSafetensors } from "../../src/io/safetensors.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CHILD = fileURLToPath(new URL("./atomic-writer-child.ts", import.meta.url));
// tmpfs (when present) makes fsync nearly free, so the writer spends most of its time
// actually writing and a kill is likely to land inside a write.
function makeBase(): string {
  try {
    if (existsSync("/dev/shm")) return mkdtempSync(join("/dev/shm", "qkv-io-"));
  } catch {
    // Not writable here: fall back to the ordinary temp folder.
  }
  return mkdtempSync(join(tmpdir(), "qkv-io-"));
}
const base = makeBase();
let dirCount = 0;
const freshDir = () => {
  const d = join(base, `case-${++dirCount}`);
  mkdirSync(d);
  return d;
};

afterAll(() => rmSync(base, { recursive: true, force: true }));

const tensor = (values: number[]): RawTensor => ({
  dtype: "float32",
  shape: [values.length],
  data: new Float32Array(values),
});

describe("writeFileAtomic", () => {
  it("creates and replaces files, leaving no temp files behind", async () => {
    const dir = freshDir();
    const p = join(dir, "a.txt");
    await writeFileAtomic(p, "old");
    expect(readFileSync(p, "utf8")).toBe("old");
    // Replacement goes through a new inode: a hard link to the old file keeps the old bytes,
    // which an in-place (truncate and rewrite) writer would clobber.
    const before = statSync(p).ino;
    linkSync(p, join(dir, "old-link"));
    await writeFileAtomic(p, new Uint8Array([104, 105]));
    expect(readFileSync(p, "utf8")).toBe("hi");
    expect(statSync(p).ino).not.toBe(before);
    expect(readFileSync(join(dir, "old-link"), "utf8")).toBe("old");
    rmSync(join(dir, "old-link"));
    await Promise.all(Array.from({ length: 20 }, (_, i) => writeFileAtomic(p, `v${i}`)));
    expect(readFileSync(p, "utf8")).toMatch(/^v\d+$/);
    expect(readdirSync(dir)).toEqual(["a.txt"]);
  });

  it("fails with the path in the message and cleans up when the folder is missing", async () => {
    const dir = freshDir();
    const p = join(dir, "nope", "a.txt");
    await expect(writeFileAtomic(p, "x")).rejects.toThrow(`cannot write ${p}`);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("fails without touching the target when the rename is impossible", async () => {
    const dir = freshDir();
    const target = join(dir, "is-a-dir");
    mkdirSync(join(target, "child"), { recursive: true });
    await expect(writeFileAtomic(target, "x")).rejects.toThrow(`cannot write ${target}`);
    expect(readdirSync(dir)).toEqual(["is-a-dir"]);
  });
});

describe("JSON helpers", () => {
  it("round-trips JSON and names the file when it is missing or malformed", async () => {
    const dir = freshDir();
    const p = join(dir, "config.json");
    await writeJsonAtomic(p, { nLayer: 2, name: "tiny" });
    expect(readFileSync(p, "utf8")).toBe('{\n  "nLayer": 2,\n  "name": "tiny"\n}\n');
    expect(await readJson(p, "model config")).toEqual({ nLayer: 2, name: "tiny" });
    const missing = join(dir, "absent.json");
    await expect(readJson(missing, "model config")).rejects.toThrow(`model config not found: ${missing}`);
    writeFileSync(p, '{"nLayer": 2,');
    await expect(readJson(p, "model config")).rejects.toThrow(`model config ${p} is not valid JSON: `);
    writeFileSync(p, '\uFEFF{"bom": true}');
    expect(await readJson(p, "model config")).toEqual({ bom: true });
    await expect(writeJsonAtomic(p, undefined)).rejects.toThrow("not JSON-serializable");
  });
});

describe("safetensors files", () => {
  it("writes and reads tensors and metadata", async () => {
    const p = join(freshDir(), "w.safetensors");
    await writeSafetensorsFile(p, { b: tensor([1, 2]), a: tensor([3]) }, { format: "pt" });
    const { tensors, metadata } = await readSafetensorsFile(p);
    expect(metadata).toEqual({ format: "pt" });
    expect([...tensors.get("b")!.data]).toEqual([1, 2]);
    expect((await readSafetensorsFile(p, { copy: true })).tensors.get("a")!.data[0]).toBe(3);
    const header = await readSafetensorsHeaderFile(p);
    expect(header.entries.map((e) => [e.name, e.dtype, e.shape])).toEqual([
      ["a", "F32", [1]],
      ["b", "F32", [2]],
    ]);
  });

  it("names the path for missing, truncated and hostile files", async () => {
    const dir = freshDir();
    const missing = join(dir, "missing.safetensors");
    await expect(readSafetensorsFile(missing)).rejects.toThrow(`${missing}: file not found`);
    await expect(readSafetensorsHeaderFile(missing)).rejects.toThrow(SafetensorsError);
    const p = join(dir, "cut.safetensors");
    const bytes = serializeSafetensors({ w: tensor([1, 2, 3, 4]) });
    writeFileSync(p, bytes.subarray(0, bytes.length - 3));
    await expect(readSafetensorsFile(p)).rejects.toThrow(
      `${p}: tensor "w": data_offsets [0, 16] run past the end`,
    );
    await expect(readSafetensorsHeaderFile(p)).rejects.toThrow(`${p}: tensor "w": data_offsets [0, 16]`);
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1n << 50n, true);
    writeFileSync(p, huge);
    await expect(readSafetensorsHeaderFile(p)).rejects.toThrow(
      `${p}: header length 1125899906842624 exceeds`,
    );
    writeFileSync(p, new Uint8Array(5));
    await expect(readSafetensorsHeaderFile(p)).rejects.toThrow(`${p}: file is 5 bytes, too short`);
    await expect(
      writeSafetensorsFile(join(dir, "x.st"), { w: { ...tensor([1]), shape: [2] } }),
    ).rejects.toThrow(`${join(dir, "x.st")}: tensor "w": data has 1 elements but shape [2] needs 2`);
  });
});

describe("replaceDirAtomic and recoverDir", () => {
  async function writeCkpt(finalDir: string, step: number): Promise<void> {
    const tmp = await makeTempDirFor(finalDir);
    await writeJsonAtomic(join(tmp, "state.json"), { step });
    mkdirSync(join(tmp, "sub"));
    writeFileSync(join(tmp, "sub", "note.txt"), `step ${step}`);
    await replaceDirAtomic(tmp, finalDir);
  }

  it("installs a new folder and replaces an old one, leaving nothing else behind", async () => {
    const parent = freshDir();
    const ckpt = join(parent, "ckpt");
    await writeCkpt(ckpt, 1);
    expect(await readJson(join(ckpt, "state.json"), "state")).toEqual({ step: 1 });
    await writeCkpt(ckpt, 2);
    expect(await readJson(join(ckpt, "state.json"), "state")).toEqual({ step: 2 });
    expect(readFileSync(join(ckpt, "sub", "note.txt"), "utf8")).toBe("step 2");
    expect(readdirSync(parent)).toEqual(["ckpt"]);
    expect(await recoverDir(ckpt)).toBe("present");
  });

  it("recovers every intermediate crash state", async () => {
    const parent = freshDir();
    const ckpt = join(parent, "ckpt");
    expect(oldDirPath(ckpt)).toBe(`${ckpt}.qkv-old`);
    expect(await recoverDir(ckpt)).toBe("absent");
    // Crash after "final → old", before "tmp → final": only the parked copy exists.
    mkdirSync(oldDirPath(ckpt));
    writeFileSync(join(oldDirPath(ckpt), "state.json"), '{"step": 1}');
    expect(await recoverDir(ckpt)).toBe("recovered");
    expect(await readJson(join(ckpt, "state.json"), "state")).toEqual({ step: 1 });
    // Crash while deleting the parked copy: final is new, the leftover is garbage.
    mkdirSync(oldDirPath(ckpt));
    writeFileSync(join(oldDirPath(ckpt), "partial"), "");
    expect(await recoverDir(ckpt)).toBe("present");
    expect(readdirSync(parent)).toEqual(["ckpt"]);
    // replaceDirAtomic itself repairs the parked state first.
    rmSync(ckpt, { recursive: true });
    mkdirSync(oldDirPath(ckpt));
    writeFileSync(join(oldDirPath(ckpt), "state.json"), '{"step": 1}');
    await writeCkpt(ckpt, 2);
    expect(await readJson(join(ckpt, "state.json"), "state")).toEqual({ step: 2 });
    expect(readdirSync(parent)).toEqual(["ckpt"]);
  });

  it("keeps a complete folder at the final or the parked path at every step of a swap", async () => {
    const ckpt = join(freshDir(), "ckpt");
    await writeCkpt(ckpt, 1);
    // Every fs call inside replaceDirAtomic yields to the event loop, where this poller
    // checks the invariant between the protocol's steps.
    const complete = (dir: string) => existsSync(join(dir, "state.json")) && existsSync(join(dir, "sub"));
    const violations: number[] = [];
    let polls = 0;
    let running = true;
    const poll = () => {
      if (!running) return;
      polls++;
      if (!complete(ckpt) && !complete(oldDirPath(ckpt))) violations.push(polls);
      setImmediate(poll);
    };
    setImmediate(poll);
    for (let step = 2; step <= 6; step++) await writeCkpt(ckpt, step);
    running = false;
    expect(polls).toBeGreaterThan(20);
    expect(violations).toEqual([]);
    expect(await readJson(join(ckpt, "state.json"), "state")).toEqual({ step: 6 });
  });

  it("rejects a missing temp folder or the target itself, keeping the old folder", async () => {
    const parent = freshDir();
    const ckpt = join(parent, "ckpt");
    await writeCkpt(ckpt, 1);
    const ghost = join(parent, "ghost");
    await expect(replaceDirAtomic(ghost, ckpt)).rejects.toThrow(`new folder ${ghost} is unusable`);
    await expect(replaceDirAtomic(ckpt, ckpt)).rejects.toThrow("is the target folder itself");
    expect(await readJson(join(ckpt, "state.json"), "state")).toEqual({ step: 1 });
  });
});

/**
 * Run the writer child with `loops` concurrent writer loops on `${prefix}0`, `${prefix}1`, …,
 * SIGKILL it `delayMs` after every loop has finished `afterSteps` steps, and return each
 * loop's last reported step. The loops are at different phases when the kill lands.
 */
function runAndKill(
  mode: "file" | "dir",
  prefix: string,
  loops: number,
  afterSteps: number,
  delayMs: number,
) {
  return new Promise<number[]>((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, mode, prefix, String(loops)], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const last = new Array<number>(loops).fill(-1);
    let pending = "";
    let err = "";
    let scheduled = false;
    const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    child.stdout.on("data", (d: Buffer) => {
      const lines = (pending + d.toString()).split("\n");
      pending = lines.pop()!;
      for (const line of lines) {
        const [id, step] = line.split(" ").map(Number);
        last[id] = step;
      }
      if (!scheduled && last.every((s) => s >= afterSteps - 1)) {
        scheduled = true;
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      if (signal === "SIGKILL" && scheduled) resolve(last);
      else reject(new Error(`writer child exited (code ${code}, signal ${signal}), steps ${last}: ${err}`));
    });
  });
}

/** The version a file holds; throws when it is torn (unparseable or mixed contents). */
async function stepOf(path: string): Promise<number> {
  const { tensors, metadata } = await readSafetensorsFile(path);
  const step = Number(metadata?.step);
  const data = tensors.get("x")!.data;
  if (!Number.isInteger(step) || data.length !== 1 << 21 || !data.every((v) => v === step % 2)) {
    throw new Error(`${path} holds a mixed version (step ${metadata?.step}, ${data.length} elements)`);
  }
  return step;
}

describe("crash safety under SIGKILL", () => {
  const LOOPS = 6;

  it.concurrent("killed writeFileAtomic loops leave a complete old or new file", async ({ expect }) => {
    const dir = freshDir();
    const last = await runAndKill("file", join(dir, "t"), LOOPS, 2, 5);
    for (let i = 0; i < LOOPS; i++) {
      const step = await stepOf(join(dir, `t${i}`));
      expect([last[i], last[i] + 1]).toContain(step);
    }
  });

  it.concurrent("killed replaceDirAtomic loops leave a complete folder for recoverDir", async ({
    expect,
  }) => {
    const dir = freshDir();
    const last = await runAndKill("dir", join(dir, "ckpt"), LOOPS, 2, 5);
    for (let i = 0; i < LOOPS; i++) {
      const target = join(dir, `ckpt${i}`);
      expect(await recoverDir(target)).not.toBe("absent");
      const state = await readJson<{ step: number }>(join(target, "state.json"), "state");
      const step = await stepOf(join(target, "weights.safetensors"));
      expect(state.step).toBe(step);
      expect([last[i], last[i] + 1]).toContain(step);
      expect(readdirSync(dir).filter((n) => n.startsWith(`ckpt${i}.`))).toEqual([]);
    }
  });
});

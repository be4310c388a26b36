// Kill training with SIGKILL mid-run, resume from the last checkpoint, and require the losses
// after the resume point to equal an uninterrupted run's exactly (same backend, same threads).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { readCheckpoint } from "../../src/io/node-checkpoint.js";
import { qkv, qkvSpawn } from "../cli/run-cli.js";

const dir = mkdtempSync(join(tmpdir(), "qkv-resume-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const data = join(dir, "text.txt");
writeFileSync(
  data,
  "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n".repeat(300),
);
// Dropout is on so the restored generator state matters, not only the weights and data position.
const args = (out: string) => [
  "train",
  "--preset",
  "tiny",
  "--data",
  data,
  "--out-dir",
  out,
  "--max-iters",
  "24",
  "--eval-interval",
  "4",
  "--eval-iters",
  "2",
  "--log-interval",
  "1",
  "--dropout",
  "0.1",
  "--sample-tokens",
  "0",
  "--quiet",
];

function stepLosses(out: string): Map<number, number> {
  const m = new Map<number, number>();
  for (const line of readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n")) {
    const e = JSON.parse(line);
    if (e.type === "step") m.set(e.iter, e.loss); // later entries (after resume) overwrite earlier ones
  }
  return m;
}

test("a run killed with SIGKILL resumes to exactly the losses of an uninterrupted run", async () => {
  const full = join(dir, "full");
  const r = qkv(args(full));
  expect(r.code, r.stderr).toBe(0);
  const reference = stepLosses(full);
  expect(reference.size).toBe(24);

  const killed = join(dir, "killed");
  const child = qkvSpawn(args(killed));
  // Kill once a few iterations past the second checkpoint have been logged.
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      try {
        const losses = stepLosses(killed);
        if (Math.max(...losses.keys()) >= 10) {
          clearInterval(timer);
          child.kill("SIGKILL");
          resolve();
        }
      } catch {
        // metrics.jsonl not there yet
      }
    }, 20);
    child.on("exit", () => {
      clearInterval(timer);
      resolve();
    });
    setTimeout(() => reject(new Error("training did not progress")), 90_000);
  });
  await new Promise((res) => child.on("exit", res));
  expect(child.signalCode).toBe("SIGKILL");

  // The checkpoint left behind is complete and readable.
  const ck = await readCheckpoint(join(killed, "last"));
  const resumedAt = (ck.trainerState as { iter: number }).iter;
  expect(resumedAt).toBeGreaterThanOrEqual(4);
  expect(resumedAt).toBeLessThan(24);

  const resumed = qkv([...args(killed), "--resume"]);
  expect(resumed.code, resumed.stderr).toBe(0);
  const after = stepLosses(killed);
  for (let it = resumedAt; it < 24; it++) {
    expect(after.get(it), `loss at iteration ${it}`).toBe(reference.get(it));
  }
}, 180_000);

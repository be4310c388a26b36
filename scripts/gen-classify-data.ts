/**
 * Writes data/classify/train.tsv and test.tsv: short reviews labelled positive, negative or
 * neutral, built from word templates by a fixed-seed generator (rerun it to get the same files:
 * `npx tsx scripts/gen-classify-data.ts`). The label is not one keyword away: "not" flips a
 * clause ("not bad" is positive), after "but" only the second clause counts, and the same
 * subjects, verbs and intensifiers occur under every label.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const OUT = resolve(import.meta.dirname, "../data/classify");
const TRAIN_ROWS = 800;
const TEST_ROWS = 200;

// mulberry32: a small seeded generator, so the files do not depend on qkv's own RNG.
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SUBJECTS = [
  "the soup",
  "the service",
  "the room",
  "the film",
  "the music",
  "the staff",
  "the coffee",
  "the view",
  "the bed",
  "the waiter",
];
const VERBS = ["was", "seemed", "felt", "looked"];
const INTENSIFIERS = ["", "very ", "really ", "quite "];
const GOOD = ["good", "great", "lovely", "excellent", "pleasant", "superb"];
const BAD = ["bad", "awful", "terrible", "poor", "dreadful", "boring"];
const NEUTRAL = [
  "arrived at noon",
  "was on the table",
  "came with the rest",
  "was in the corner",
  "is on the menu",
  "was there on monday",
];

type Polarity = "positive" | "negative" | "neutral";

function sentence(r: () => number): { text: string; label: Polarity } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  // A clause with an opinion: "not" flips the adjective's polarity.
  const polar = (): { text: string; pol: Polarity } => {
    const good = r() < 0.5;
    const negated = r() < 0.35;
    const adj = pick(good ? GOOD : BAD);
    const text = `${pick(SUBJECTS)} ${pick(VERBS)} ${negated ? "not " : ""}${pick(INTENSIFIERS)}${adj}`;
    return { text, pol: good !== negated ? "positive" : "negative" };
  };
  const neutral = () => ({ text: `${pick(SUBJECTS)} ${pick(NEUTRAL)}`, pol: "neutral" as Polarity });
  const form = r();
  if (form < 0.3) {
    const a = polar();
    return { text: a.text, label: a.pol };
  }
  if (form < 0.55) {
    // "A but B": the second clause decides.
    const a = polar();
    const b = polar();
    return { text: `${a.text} but ${b.text}`, label: b.pol };
  }
  if (form < 0.75) {
    // An opinion next to a plain fact, in either order.
    const a = polar();
    const n = neutral();
    return { text: r() < 0.5 ? `${a.text} and ${n.text}` : `${n.text} and ${a.text}`, label: a.pol };
  }
  const n1 = neutral();
  if (r() < 0.5) return { text: n1.text, label: "neutral" };
  return { text: `${n1.text} and ${neutral().text}`, label: "neutral" };
}

function rows(count: number, seed: number, exclude: Set<string>): string[] {
  const r = rng(seed);
  const out: string[] = [];
  const seen = new Set(exclude);
  while (out.length < count) {
    const s = sentence(r);
    if (seen.has(s.text)) continue; // no duplicates, and no test text that is also in train
    seen.add(s.text);
    out.push(`${s.text}\t${s.label}`);
  }
  return out;
}

mkdirSync(OUT, { recursive: true });
const train = rows(TRAIN_ROWS, 20261202, new Set());
const test = rows(TEST_ROWS, 4242, new Set(train.map((l) => l.split("\t")[0])));
writeFileSync(join(OUT, "train.tsv"), `${train.join("\n")}\n`);
writeFileSync(join(OUT, "test.tsv"), `${test.join("\n")}\n`);
for (const [name, lines] of [
  ["train", train],
  ["test", test],
] as const) {
  const counts: Record<string, number> = {};
  for (const l of lines) counts[l.split("\t")[1]] = (counts[l.split("\t")[1]] ?? 0) + 1;
  console.log(`${name}.tsv: ${lines.length} rows`, counts);
}

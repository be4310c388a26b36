// The guide (docs/guide/): every page listed in the index exists, runs its TypeScript blocks as written and
// prints what their comments say, links to the source where its idea lives, and has no broken relative link.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { getBackendName } from "../../src/index.js";
import { root, runBlock, tsBlocks } from "./markdown-runner.js";

const guide = join(root, "docs/guide");
// One page per idea of the report, in the report's order.
const PAGES = [
  "01-feedforward.md",
  "02-activations.md",
  "03-backpropagation.md",
  "04-attention.md",
  "05-multi-head-attention.md",
  "06-transformer.md",
  "07-gpt.md",
  "08-bert.md",
  "09-encoder-decoder.md",
];
const dir = mkdtempSync(join(tmpdir(), "qkv-guide-"));
const NUMBER = /-?\d+(\.\d+)?(e[-+]?\d+)?/g;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}

function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of markdown.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6}\s+(.*)$/gm)) {
    const s = slug(m[1]);
    const n = seen.get(s) ?? 0;
    seen.set(s, n + 1);
    out.add(n === 0 ? s : `${s}-${n}`);
  }
  return out;
}

/** Relative link targets of a Markdown text (code blocks and inline code left out). */
function links(markdown: string): string[] {
  const text = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/i.test(t));
}

/** Why a relative link from `from` is broken, or null when it resolves. */
function brokenLink(from: string, target: string): string | null {
  const [path, fragment] = target.split("#", 2);
  const file = path === "" ? from : resolve(dirname(from), decodeURIComponent(path));
  if (!existsSync(file)) return `${target}: no such file ${relative(root, file)}`;
  if (fragment === undefined || statSync(file).isDirectory()) return null;
  const lines = /^L(\d+)(?:-L(\d+))?$/.exec(fragment);
  const text = readFileSync(file, "utf8");
  if (lines) {
    const last = Number(lines[2] ?? lines[1]);
    const count = text.split("\n").length;
    return last <= count ? null : `${target}: ${relative(root, file)} has only ${count} lines`;
  }
  if (file.endsWith(".md")) return anchors(text).has(fragment) ? null : `${target}: no heading #${fragment}`;
  return `${target}: a fragment on a non-Markdown file must be a line anchor (#L12 or #L12-L30)`;
}

test("the index lists the nine pages in order, and each exists", () => {
  const index = readFileSync(join(guide, "README.md"), "utf8");
  const listed = links(index)
    .map((t) => t.split("#")[0])
    .filter((t) => /^\d\d-.*\.md$/.test(t));
  expect(listed).toEqual(PAGES);
  for (const p of PAGES) expect(existsSync(join(guide, p)), p).toBe(true);
});

test("no page in docs/guide/ is missing from the index", () => {
  const pages = readdirSync(guide).filter((f) => /^\d\d-.*\.md$/.test(f));
  expect(pages.sort()).toEqual([...PAGES].sort());
});

const mdFiles = [join(root, "README.md"), join(root, "CONTRIBUTING.md"), join(guide, "README.md")]
  .concat(PAGES.map((p) => join(guide, p)))
  .filter((f) => existsSync(f));

test.each(mdFiles.map((f) => [relative(root, f), f]))("relative links in %s resolve", (_name, file) => {
  const broken = links(readFileSync(file, "utf8"))
    .map((t) => brokenLink(file, t))
    .filter((b) => b !== null);
  expect(broken).toEqual([]);
});

for (const page of PAGES.filter((p) => existsSync(join(guide, p)))) {
  describe(page, () => {
    const text = readFileSync(join(guide, page), "utf8");
    const blocks = tsBlocks(text);

    test("has runnable code and links to the source where its idea lives", () => {
      expect(blocks.length).toBeGreaterThan(0);
      expect(links(text).some((t) => /^(\.\.\/)+(src|native)\//.test(t))).toBe(true);
    });

    // Each page's blocks run in a folder of their own, where the charts they draw are written.
    const cwd = join(dir, page.replace(/\.md$/, ""));
    mkdirSync(cwd, { recursive: true });
    blocks.forEach((code, i) => {
      test(`block ${i + 1} runs and prints what its comments say`, async () => {
        await runBlock(code, join(dir, `${page.replace(/\.md$/, "")}-${i}.ts`), cwd);
      });
    });

    // A chart the page shows (`![...](img/name.svg)`) must be the file its code writes as `name.svg`, byte for
    // byte. `UPDATE_GUIDE_IMAGES=1 npx vitest run test/docs/guide.test.ts` copies freshly drawn charts over.
    const images = [...text.matchAll(/!\[[^\]]*\]\(img\/([^)\s]+\.svg)\)/g)].map((m) => m[1]);
    test.each(images)("img/%s is what the page's code draws", (name) => {
      const drawn = join(cwd, name);
      expect(existsSync(drawn), `the page's code should write ${name}`).toBe(true);
      const committed = join(guide, "img", name);
      if (process.env.UPDATE_GUIDE_IMAGES === "1") {
        mkdirSync(dirname(committed), { recursive: true });
        copyFileSync(drawn, committed);
      }
      const [got, want] = [readFileSync(drawn, "utf8"), readFileSync(committed, "utf8")];
      // The committed charts are the reference backend's. A SIMD backend rounds differently in the last bits,
      // which moves a point by a fraction of a pixel, so there the chart must match in everything but its numbers.
      if (getBackendName() === "cpu") expect(got).toBe(want);
      else expect(got.replace(NUMBER, "#")).toBe(want.replace(NUMBER, "#"));
    });
  });
}

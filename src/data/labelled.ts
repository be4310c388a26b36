/**
 * Labelled text for sequence classification: a TSV of `text<TAB>label` lines. Labels are
 * strings; their ids are assigned in sorted order so two runs on the same file agree.
 */

import { tsvLines } from "./tsv.js";

/** One row of a labelled TSV; `label` is null on an unlabelled line (allowed for prediction). */
export interface LabelledText {
  text: string;
  label: string | null;
  /** 1-based line number in the file, for error messages. */
  line: number;
}

/**
 * Parses `text<TAB>label` lines (blank lines skipped, a BOM and CRLF endings accepted). With
 * `labels: "optional"` a line without a tab is unlabelled text. Errors name the file and line.
 * @example
 * parseLabelledTsv("good film\tpos\nawful\tneg\n", "train.tsv"); // [{ text: "good film", label: "pos", line: 1 }, …]
 * parseLabelledTsv("no label", "train.tsv"); // Error: train.tsv line 1: expected "text<TAB>label" …
 */
export function parseLabelledTsv(
  text: string,
  name = "TSV",
  opts: { labels?: "required" | "optional" } = {},
): LabelledText[] {
  const required = (opts.labels ?? "required") === "required";
  const rows: LabelledText[] = [];
  for (const { text: line, line: n } of tsvLines(text)) {
    const where = `${name} line ${n}`;
    const parts = line.split("\t");
    const preview = JSON.stringify(line.length > 40 ? `${line.slice(0, 40)}…` : line);
    if (parts.length > 2)
      throw new Error(
        `${where}: expected "text<TAB>label" (one tab), found ${parts.length - 1} tabs in ${preview}`,
      );
    if (parts.length === 1) {
      if (required) throw new Error(`${where}: expected "text<TAB>label", found no tab in ${preview}`);
      rows.push({ text: parts[0], label: null, line: n });
      continue;
    }
    const label = parts[1].trim();
    if (parts[0].trim() === "") throw new Error(`${where}: empty text before the tab`);
    if (label === "") throw new Error(`${where}: empty label after the tab`);
    rows.push({ text: parts[0], label, line: n });
  }
  return rows;
}

/** The distinct labels of some rows, sorted (code-point order): index = class id. */
export function labelSet(rows: readonly LabelledText[]): string[] {
  const set = new Set<string>();
  for (const r of rows) if (r.label !== null) set.add(r.label);
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

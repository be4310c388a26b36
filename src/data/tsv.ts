/** The line loop shared by the TSV readers in data/: BOM, CRLF and blank lines handled once. */

/** One non-blank line of a TSV file with its 1-based line number. */
export interface TsvLine {
  text: string;
  /** 1-based line number in the file, for error messages. */
  line: number;
}

/**
 * Splits text into its non-blank lines: a leading BOM and each trailing `\r` are dropped, and
 * lines holding only whitespace are skipped. Line numbers count every line, blank ones included.
 * @example
 * tsvLines("\uFEFFa\tb\r\n\nc\td\n"); // [{ text: "a\tb", line: 1 }, { text: "c\td", line: 3 }]
 */
export function tsvLines(text: string): TsvLine[] {
  const out: TsvLine[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i];
    if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
    if (line.endsWith("\r")) line = line.slice(0, -1);
    if (line.trim() === "") continue;
    out.push({ text: line, line: i + 1 });
  }
  return out;
}

/** tsvLines: the shared line loop of the TSV readers (BOM, CRLF, blank lines, line numbers). */
import { describe, expect, it } from "vitest";
import { tsvLines } from "../../src/data/tsv.js";

describe("tsvLines", () => {
  it("drops a leading BOM and CR endings, skips blank lines, keeps file line numbers", () => {
    expect(tsvLines("\uFEFFa\tb\r\n\n  \r\nc\td\n")).toEqual([
      { text: "a\tb", line: 1 },
      { text: "c\td", line: 4 },
    ]);
  });
  it("keeps a BOM that is not at the start and inner CRs", () => {
    expect(tsvLines("x\n\uFEFFy\ta\rb")).toEqual([
      { text: "x", line: 1 },
      { text: "\uFEFFy\ta\rb", line: 2 },
    ]);
  });
  it("returns nothing for empty text", () => {
    expect(tsvLines("")).toEqual([]);
  });
});

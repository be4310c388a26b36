/**
 * The `model` section of a Hugging Face tokenizer.json as qkv runs it inside a pipeline:
 * WordPiece (greedy longest match with `##` continuations), Unigram (Viterbi over piece scores,
 * with byte fallback) and byte-level BPE (delegated to {@link ByteLevelBPE}).
 */

import { ByteLevelBPE } from "./bpe.js";
import {
  expectField,
  expectId,
  expectObject,
  expectString,
  type HFComponent,
  readVocab,
  TokenizerFormatError,
} from "./tokenizer-json.js";

/** What a pipeline needs from a model: one pre-token to ids, and the vocabulary both ways. */
export interface PipelineModel {
  readonly kind: "wordpiece" | "unigram" | "bpe";
  /** Ids of one pre-token. */
  tokenize(word: string): number[];
  /** The id of a vocabulary entry, or undefined when it has none. */
  tokenToId(token: string): number | undefined;
  /** The vocabulary entry of an id, or undefined when out of range. */
  idToToken(id: number): string | undefined;
  /** One more than the largest model id. */
  readonly size: number;
  /** The model section, as tokenizer.json writes it. */
  toJSON(): HFComponent;
}

/**
 * WordPiece as in BERT: a word longer than `maxInputCharsPerWord` code points, or one that cannot
 * be covered by vocabulary pieces (the first plain, the rest with `prefix`), becomes `unkToken`.
 *
 * @example
 * ```ts
 * const wp = new WordPiece(new Map([["[UNK]", 0], ["un", 1], ["##aff", 2], ["##able", 3]]), "[UNK]");
 * wp.tokenize("unaffable"); // [1, 2, 3]
 * ```
 */
export class WordPiece implements PipelineModel {
  readonly kind = "wordpiece";
  readonly size: number;
  private readonly idToString: (string | undefined)[] = [];

  constructor(
    readonly vocab: ReadonlyMap<string, number>,
    readonly unkToken: string,
    readonly prefix = "##",
    readonly maxInputCharsPerWord = 100,
  ) {
    for (const [t, id] of vocab) this.idToString[id] = t;
    this.size = this.idToString.length;
  }

  /**
   * Read tokenizer.json's `model` section of type WordPiece.
   *
   * @example
   * ```ts
   * WordPiece.fromJSON({ type: "WordPiece", unk_token: "[UNK]", vocab: { "[UNK]": 0, a: 1 } }).tokenize("a"); // [1]
   * ```
   */
  static fromJSON(model: Record<string, unknown>): WordPiece {
    const vocab = readVocab(expectField(model, "vocab", "model"), "model.vocab");
    const unk = expectString(expectField(model, "unk_token", "model"), "model.unk_token");
    const prefix =
      model.continuing_subword_prefix == null
        ? "##"
        : expectString(model.continuing_subword_prefix, "model.continuing_subword_prefix");
    const max =
      model.max_input_chars_per_word == null
        ? 100
        : expectId(model.max_input_chars_per_word, "model.max_input_chars_per_word");
    return new WordPiece(vocab, unk, prefix, max);
  }

  private unk(): number[] {
    const id = this.vocab.get(this.unkToken);
    if (id === undefined)
      throw new TokenizerFormatError(
        `WordPiece: unk_token ${JSON.stringify(this.unkToken)} is not in the vocabulary`,
      );
    return [id];
  }

  tokenize(word: string): number[] {
    const cps = Array.from(word);
    if (cps.length > this.maxInputCharsPerWord) return this.unk();
    const ids: number[] = [];
    let start = 0;
    while (start < cps.length) {
      let end = cps.length;
      let found: number | undefined;
      while (start < end) {
        const sub = cps.slice(start, end).join("");
        found = this.vocab.get(start > 0 ? this.prefix + sub : sub);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return this.unk();
      ids.push(found);
      start = end;
    }
    return ids;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.idToString[id];
  }

  toJSON(): HFComponent {
    return {
      type: "WordPiece",
      unk_token: this.unkToken,
      continuing_subword_prefix: this.prefix,
      max_input_chars_per_word: this.maxInputCharsPerWord,
      vocab: Object.fromEntries([...this.vocab].sort((a, b) => a[1] - b[1])),
    };
  }
}

interface TrieNode {
  next: Map<number, TrieNode>;
  id: number;
}

/** Score penalty below the lowest piece score for an unknown character (SentencePiece's kUnkPenalty). */
const UNK_PENALTY = 10;

/**
 * Unigram language-model segmentation (SentencePiece, as HF tokenizers runs it): the split of a
 * pre-token into vocabulary pieces with the highest total score (Viterbi; on equal scores the
 * split found first, i.e. ending earliest with the shortest piece, wins). A character no piece
 * covers becomes `unk` with score min − 10; consecutive unknowns fuse into one; with
 * `byteFallback` an unknown stretch becomes its UTF-8 bytes `<0xAB>` when all of them exist.
 *
 * @example
 * ```ts
 * const u = new Unigram([["<unk>", 0], ["▁a", -1], ["a", -2], ["b", -2]], 0, false);
 * u.tokenize("▁ab"); // [1, 3]
 * ```
 */
export class Unigram implements PipelineModel {
  readonly kind = "unigram";
  readonly size: number;
  private readonly ids = new Map<string, number>();
  private readonly root: TrieNode = { next: new Map(), id: -1 };
  private readonly minScore: number;
  private readonly byteIds: Int32Array | null;

  constructor(
    readonly pieces: ReadonlyArray<readonly [string, number]>,
    readonly unkId: number | null,
    readonly byteFallback: boolean,
  ) {
    let min = Number.POSITIVE_INFINITY;
    pieces.forEach(([piece, score], id) => {
      this.ids.set(piece, id); // a repeated piece keeps its last id, as HF's map does
      min = Math.min(min, score);
      let node = this.root;
      for (let i = 0; i < piece.length; i++) {
        const c = piece.charCodeAt(i);
        let child = node.next.get(c);
        if (child === undefined) {
          child = { next: new Map(), id: -1 };
          node.next.set(c, child);
        }
        node = child;
      }
      node.id = id;
    });
    this.minScore = min;
    this.size = pieces.length;
    if (unkId !== null && (unkId >= pieces.length || unkId < 0))
      throw new TokenizerFormatError(`model.unk_id ${unkId} is outside the vocabulary of ${pieces.length}`);
    if (byteFallback) {
      this.byteIds = new Int32Array(256).fill(-1);
      for (let b = 0; b < 256; b++) {
        const id = this.ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
        if (id !== undefined) this.byteIds[b] = id;
      }
    } else {
      this.byteIds = null;
    }
  }

  /**
   * Read tokenizer.json's `model` section of type Unigram (`vocab` is a list of [piece, score]).
   *
   * @example
   * ```ts
   * Unigram.fromJSON({ type: "Unigram", unk_id: 0, vocab: [["<unk>", 0], ["a", -1]] }).tokenize("a"); // [1]
   * ```
   */
  static fromJSON(model: Record<string, unknown>): Unigram {
    const vocab = expectField(model, "vocab", "model");
    if (!Array.isArray(vocab))
      throw new TokenizerFormatError("model.vocab must be an array of [piece, score] pairs");
    const pieces = vocab.map((entry, i): [string, number] => {
      if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") {
        throw new TokenizerFormatError(
          `model.vocab[${i}] must be a [piece, score] pair, got ${JSON.stringify(entry)}`,
        );
      }
      return [entry[0], entry[1]];
    });
    const unkId = model.unk_id == null ? null : expectId(model.unk_id, "model.unk_id");
    return new Unigram(pieces, unkId, model.byte_fallback === true);
  }

  tokenize(word: string): number[] {
    const n = word.length;
    if (n === 0) return [];
    const unkScore = this.minScore - UNK_PENALTY;
    // best[e]: score of the best segmentation of word[0, e), its last piece's start and id.
    const score = new Float64Array(n + 1);
    const from = new Int32Array(n + 1).fill(-1);
    const pieceId = new Int32Array(n + 1).fill(-1);
    from[0] = 0;
    for (let start = 0; start < n; start = nextStart(word, start)) {
      const base = score[start];
      const charEnd = nextStart(word, start);
      let single = false;
      let node: TrieNode | undefined = this.root;
      for (let i = start; i < n; i++) {
        node = node.next.get(word.charCodeAt(i));
        if (node === undefined) break;
        if (node.id < 0) continue;
        const end = i + 1;
        const candidate = base + this.pieces[node.id][1];
        if (from[end] < 0 || candidate > score[end]) {
          score[end] = candidate;
          from[end] = start;
          pieceId[end] = node.id;
        }
        if (end === charEnd) single = true;
      }
      if (!single) {
        if (this.unkId === null)
          throw new TokenizerFormatError(
            `Unigram: ${JSON.stringify(word.slice(start, charEnd))} has no piece and the model has no unk_id`,
          );
        const candidate = base + unkScore;
        if (from[charEnd] < 0 || candidate > score[charEnd]) {
          score[charEnd] = candidate;
          from[charEnd] = start;
          pieceId[charEnd] = this.unkId;
        }
      }
    }
    // Walk back; consecutive unknowns fuse (HF's Unigram has fuse_unk on).
    const spans: Array<[number, number, number]> = [];
    for (let end = n; end > 0; end = from[end]) {
      const start = from[end];
      const id = pieceId[end];
      const last = spans[spans.length - 1];
      if (id === this.unkId && last !== undefined && last[2] === this.unkId) last[0] = start;
      else spans.push([start, end, id]);
    }
    spans.reverse();
    const out: number[] = [];
    for (const [start, end, id] of spans) {
      const text = word.slice(start, end);
      const known = this.ids.get(text);
      if (known !== undefined) {
        out.push(known);
        continue;
      }
      if (this.byteIds !== null) {
        const bytes = new TextEncoder().encode(text);
        const byteIds = Array.from(bytes, (b) => this.byteIds![b]);
        if (byteIds.every((b) => b >= 0)) {
          out.push(...byteIds);
          continue;
        }
      }
      out.push(id);
    }
    return out;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.pieces[id]?.[0];
  }

  toJSON(): HFComponent {
    return {
      type: "Unigram",
      unk_id: this.unkId,
      vocab: this.pieces.map(([p, s]) => [p, s]),
      byte_fallback: this.byteFallback,
    };
  }
}

function nextStart(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? i + 2 : i + 1;
}

/**
 * Byte-level BPE inside a pipeline (its pre-tokenizer must be ByteLevel): each piece's UTF-8
 * bytes are merged by {@link ByteLevelBPE}.
 */
export class BytePairModel implements PipelineModel {
  readonly kind = "bpe";
  readonly size: number;

  constructor(
    private readonly bpe: ByteLevelBPE,
    private readonly json: HFComponent,
  ) {
    this.size = bpe.vocabSize;
  }

  /** Read a byte-level BPE `model` section (vocab and merges). */
  static fromJSON(root: Record<string, unknown>, model: Record<string, unknown>): BytePairModel {
    const bpe = ByteLevelBPE.fromTokenizerJSON({
      model,
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
      post_processor: null,
      decoder: null,
    });
    void root;
    return new BytePairModel(bpe, model as HFComponent);
  }

  tokenize(word: string): number[] {
    return this.bpe.encodeWord(word);
  }

  tokenToId(token: string): number | undefined {
    return this.bpe.tokenToId(token);
  }

  idToToken(id: number): string | undefined {
    return this.bpe.idToToken(id);
  }

  toJSON(): HFComponent {
    return this.json;
  }
}

/**
 * Build a pipeline model from tokenizer.json's `model` section.
 *
 * @example
 * ```ts
 * const model = modelFromJSON(json, json.model);
 * model.kind; // "wordpiece"
 * ```
 */
export function modelFromJSON(root: Record<string, unknown>, value: unknown): PipelineModel {
  const model = expectObject(value, "model");
  const type = expectString(expectField(model, "type", "model"), "model.type");
  switch (type) {
    case "WordPiece":
      return WordPiece.fromJSON(model);
    case "Unigram":
      return Unigram.fromJSON(model);
    case "BPE":
      return BytePairModel.fromJSON(root, model);
    default:
      throw new TokenizerFormatError(
        `model.type ${JSON.stringify(type)} is not supported (expected "BPE", "WordPiece", "Unigram" or "WordLevel")`,
      );
  }
}

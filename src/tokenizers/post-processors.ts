/**
 * Hugging Face tokenizers' post-processors (the `post_processor` section): TemplateProcessing,
 * BertProcessing, RobertaProcessing, ByteLevel (no effect on ids) and Sequence. They add the
 * special tokens around one sequence or a pair and set the type ids.
 */

import { showValue } from "../util/json.js";
import { component } from "./normalizers.js";
import {
  expectField,
  expectId,
  expectObject,
  expectString,
  type HFComponent,
  TokenizerFormatError,
} from "./tokenizer-json.js";

/**
 * Token ids with their per-token fields, the unit the pipeline passes around.
 *
 * @example
 * ```ts
 * const e: Encoding = { ids: [101, 7592, 102], typeIds: [0, 0, 0], specialTokensMask: [1, 0, 1], attentionMask: [1, 1, 1] };
 * ```
 */
export interface Encoding {
  ids: number[];
  typeIds: number[];
  /** 1 where the post-processor (or padding) added the token. */
  specialTokensMask: number[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
}

/** A post-processor: the encodings of a sequence (and its pair) → one encoding. */
export interface PostProcessor {
  /** How many special tokens it adds to a single sequence or a pair (truncation keeps room for them). */
  addedTokens(isPair: boolean): number;
  /** Joins `a` (and `b` for a pair) into one encoding, adding the special tokens when `addSpecialTokens`. */
  process(a: Encoding, b: Encoding | null, addSpecialTokens: boolean): Encoding;
}

type TemplatePiece = { special: number[] } | { sequence: "A" | "B"; typeId: number };
interface Template {
  pieces: Array<TemplatePiece & { typeId: number }>;
}

/**
 * Make an encoding of `ids` with every type id set to `typeId`.
 *
 * @example
 * ```ts
 * plainEncoding([5, 6], 0).typeIds; // [0, 0]
 * ```
 */
export function plainEncoding(ids: number[], typeId: number): Encoding {
  return {
    ids,
    typeIds: ids.map(() => typeId),
    specialTokensMask: ids.map(() => 0),
    attentionMask: ids.map(() => 1),
  };
}

/** Concatenate encodings (what HF does for a pair when no processor adds tokens). */
function concat(parts: Encoding[]): Encoding {
  const out = plainEncoding([], 0);
  for (const p of parts) {
    out.ids.push(...p.ids);
    out.typeIds.push(...p.typeIds);
    out.specialTokensMask.push(...p.specialTokensMask);
    out.attentionMask.push(...p.attentionMask);
  }
  return out;
}

function special(ids: number[], typeId: number): Encoding {
  return {
    ids,
    typeIds: ids.map(() => typeId),
    specialTokensMask: ids.map(() => 1),
    attentionMask: ids.map(() => 1),
  };
}

function withType(e: Encoding, typeId: number): Encoding {
  return { ...e, typeIds: e.ids.map(() => typeId) };
}

/** No post-processor (or ByteLevel, which only trims offsets): a pair is just concatenated. */
export const concatProcessor: PostProcessor = {
  addedTokens: () => 0,
  process: (a, b) => (b === null ? a : concat([a, b])),
};

function templateProcessor(single: Template, pair: Template): PostProcessor {
  const count = (t: Template) => t.pieces.reduce((n, p) => n + ("special" in p ? p.special.length : 0), 0);
  return {
    addedTokens: (isPair) => count(isPair ? pair : single),
    process(a, b, addSpecialTokens) {
      if (!addSpecialTokens) return b === null ? a : concat([a, b]);
      const t = b === null ? single : pair;
      return concat(
        t.pieces.flatMap((p) => {
          if ("special" in p) return [special(p.special, p.typeId)];
          const seq = p.sequence === "A" ? a : b;
          return seq === null ? [] : [withType(seq, p.typeId)];
        }),
      );
    },
  };
}

function readPair(value: unknown, path: string): [string, number] {
  if (!Array.isArray(value) || value.length !== 2)
    throw new TokenizerFormatError(`${path} must be a [token, id] pair`);
  return [expectString(value[0], `${path}[0]`), expectId(value[1], `${path}[1]`)];
}

function readTemplate(value: unknown, path: string, specials: Map<string, number[]>): Template {
  if (!Array.isArray(value)) throw new TokenizerFormatError(`${path} must be an array`);
  return {
    pieces: value.map((raw, i) => {
      const where = `${path}[${i}]`;
      const entry = expectObject(raw, where);
      if (entry.SpecialToken !== undefined) {
        const st = expectObject(entry.SpecialToken, `${where}.SpecialToken`);
        const name = expectString(expectField(st, "id", `${where}.SpecialToken`), `${where}.SpecialToken.id`);
        const ids = specials.get(name);
        if (ids === undefined)
          throw new TokenizerFormatError(
            `${where}: special token ${JSON.stringify(name)} is missing from special_tokens`,
          );
        return { special: ids, typeId: expectId(st.type_id ?? 0, `${where}.SpecialToken.type_id`) };
      }
      if (entry.Sequence !== undefined) {
        const sq = expectObject(entry.Sequence, `${where}.Sequence`);
        const id = expectString(expectField(sq, "id", `${where}.Sequence`), `${where}.Sequence.id`);
        if (id !== "A" && id !== "B")
          throw new TokenizerFormatError(`${where}.Sequence.id must be "A" or "B"`);
        return { sequence: id, typeId: expectId(sq.type_id ?? 0, `${where}.Sequence.type_id`) };
      }
      throw new TokenizerFormatError(`${where} must be {"SpecialToken": ...} or {"Sequence": ...}`);
    }),
  };
}

/**
 * Build a post-processor from a tokenizer.json `post_processor` section (null → concatenation).
 *
 * @example
 * ```ts
 * const p = postProcessorFromJSON({ type: "BertProcessing", cls: ["[CLS]", 101], sep: ["[SEP]", 102] }, "post_processor");
 * p.process(plainEncoding([7], 0), null, true).ids; // [101, 7, 102]
 * ```
 */
export function postProcessorFromJSON(json: HFComponent | null, path: string): PostProcessor {
  if (json === null) return concatProcessor;
  switch (json.type) {
    case "ByteLevel":
      return concatProcessor;
    case "BertProcessing": {
      const [, cls] = readPair(expectField(json, "cls", path), `${path}.cls`);
      const [, sep] = readPair(expectField(json, "sep", path), `${path}.sep`);
      return templateProcessor(
        {
          pieces: [
            { special: [cls], typeId: 0 },
            { sequence: "A", typeId: 0 },
            { special: [sep], typeId: 0 },
          ],
        },
        {
          pieces: [
            { special: [cls], typeId: 0 },
            { sequence: "A", typeId: 0 },
            { special: [sep], typeId: 0 },
            { sequence: "B", typeId: 1 },
            { special: [sep], typeId: 1 },
          ],
        },
      );
    }
    case "RobertaProcessing": {
      // <s> A </s> and <s> A </s></s> B </s>, all with type id 0 (RoBERTa has one segment).
      const [, cls] = readPair(expectField(json, "cls", path), `${path}.cls`);
      const [, sep] = readPair(expectField(json, "sep", path), `${path}.sep`);
      return templateProcessor(
        {
          pieces: [
            { special: [cls], typeId: 0 },
            { sequence: "A", typeId: 0 },
            { special: [sep], typeId: 0 },
          ],
        },
        {
          pieces: [
            { special: [cls], typeId: 0 },
            { sequence: "A", typeId: 0 },
            { special: [sep, sep], typeId: 0 },
            { sequence: "B", typeId: 0 },
            { special: [sep], typeId: 0 },
          ],
        },
      );
    }
    case "TemplateProcessing": {
      const specials = new Map<string, number[]>();
      const table = expectObject(json.special_tokens ?? {}, `${path}.special_tokens`);
      for (const [name, raw] of Object.entries(table)) {
        const entry = expectObject(raw, `${path}.special_tokens.${name}`);
        const ids = expectField(entry, "ids", `${path}.special_tokens.${name}`);
        if (!Array.isArray(ids))
          throw new TokenizerFormatError(`${path}.special_tokens.${name}.ids must be an array`);
        specials.set(
          name,
          ids.map((id, i) => expectId(id, `${path}.special_tokens.${name}.ids[${i}]`)),
        );
      }
      return templateProcessor(
        readTemplate(expectField(json, "single", path), `${path}.single`, specials),
        readTemplate(expectField(json, "pair", path), `${path}.pair`, specials),
      );
    }
    case "Sequence": {
      const list = expectField(json, "processors", path);
      if (!Array.isArray(list)) throw new TokenizerFormatError(`${path}.processors must be an array`);
      const parts = list.map((p, i) =>
        postProcessorFromJSON(component(p, `${path}.processors[${i}]`), `${path}.processors[${i}]`),
      );
      const adding = parts.filter((p) => p !== concatProcessor);
      if (adding.length > 1)
        throw new TokenizerFormatError(`${path}: more than one processor that adds special tokens`);
      return adding[0] ?? concatProcessor;
    }
    default:
      throw new TokenizerFormatError(
        `${path}.type ${showValue(json.type)} is not a post-processor qkv supports`,
      );
  }
}

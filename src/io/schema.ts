/**
 * A small declarative validator for the JSON files qkv reads (config.json, train_config.json,
 * trainer_state.json, optimizer.json, …), and a nesting-depth pre-scan run before JSON.parse.
 * Every failure is a {@link SchemaError} naming the file and the field path (`rng.s[2]`).
 * Browser-safe: no `node:` imports, so loaders on both sides (and the fuzz targets) share it.
 */
import { QkvError } from "../util/errors.js";
import { jsonTooDeepAt, showValue } from "../util/json.js";

/** A value in a JSON file does not have the type, range or size its schema allows. */
export class SchemaError extends QkvError {
  constructor(message: string, where: { file?: string; field?: string } = {}) {
    super(message, where);
    this.name = "SchemaError";
  }
}

/**
 * The deepest nesting of arrays and objects accepted in any JSON file qkv reads. Real files
 * nest a handful of levels (tokenizer.json about 5); a bound this low keeps every recursive
 * walk over the parsed value (ours and the engine's) far from the stack limit.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Throws a SchemaError when `text` nests arrays/objects deeper than `maxDepth`. A linear scan
 * that skips string contents (escapes included), so it is cheap next to JSON.parse itself and
 * never recurses.
 * @example checkJsonDepth('{"a":[1]}', "config.json") // depth 2: fine
 */
export function checkJsonDepth(text: string, file: string, maxDepth = MAX_JSON_DEPTH): void {
  const i = jsonTooDeepAt(text, maxDepth);
  if (i >= 0)
    throw new SchemaError(
      `${file}: JSON nests deeper than ${maxDepth} levels (at character ${i}); refusing to parse it`,
      { file },
    );
}

/**
 * Parses JSON text after the depth pre-scan (a leading BOM is dropped). Errors are SchemaErrors
 * naming `file`.
 * @example parseJsonText('{"n_layer": 2}', "config.json")
 */
export function parseJsonText(
  text: string,
  file: string,
  opts: { what?: string; maxDepth?: number } = {},
): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  checkJsonDepth(body, file, opts.maxDepth ?? MAX_JSON_DEPTH);
  try {
    return JSON.parse(body);
  } catch (e) {
    const what = opts.what ? `${opts.what} ` : "";
    throw new SchemaError(`${what}${file} is not valid JSON: ${(e as Error).message}`, { file });
  }
}

// ---- the validator --------------------------------------------------------------------------

/** Where a check runs: the file and the path of the value inside it. */
export interface SchemaAt {
  file: string;
  path: string;
}

/** A schema checks a value and returns it typed (or throws a SchemaError naming file and path). */
export interface Schema<T> {
  /** What the value must be, for messages ("an integer in [1, 1024]"). */
  readonly expect: string;
  /** Returns `value` typed when it fits, else throws a SchemaError naming `at.file` and `at.path`. */
  check(value: unknown, at: SchemaAt): T;
}

/** Infers the value type of a schema. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

const show = showValue;

function fail(at: SchemaAt, expect: string, got: unknown): never {
  const field = at.path === "" ? "(top level)" : at.path;
  throw new SchemaError(`${at.file}: field "${field}" must be ${expect}, got ${show(got)}`, {
    file: at.file,
    field: at.path,
  });
}

function child(at: SchemaAt, key: string | number): SchemaAt {
  if (typeof key === "number") return { file: at.file, path: `${at.path}[${key}]` };
  return { file: at.file, path: at.path === "" ? key : `${at.path}.${key}` };
}

function range(min: number, max: number): string {
  if (max === Number.POSITIVE_INFINITY) return `≥ ${min}`;
  if (min === Number.NEGATIVE_INFINITY) return `≤ ${max}`;
  return `in [${min}, ${max}]`;
}

/** Schema builders. */
export const s = {
  /** An integer in [min, max] (defaults: 0 and 2^53 − 1). */
  int(min = 0, max = Number.MAX_SAFE_INTEGER): Schema<number> {
    const expect = `an integer ${range(min, max)}`;
    return {
      expect,
      check: (v, at) => {
        if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) fail(at, expect, v);
        return v;
      },
    };
  },
  /** A number in [min, max]; `finite: false` also admits ±Infinity (NaN never). */
  num(
    min = Number.NEGATIVE_INFINITY,
    max = Number.POSITIVE_INFINITY,
    opts: { finite?: boolean } = {},
  ): Schema<number> {
    const finite = opts.finite ?? true;
    const expect = `a ${finite ? "finite " : ""}number${min === Number.NEGATIVE_INFINITY && max === Number.POSITIVE_INFINITY ? "" : ` ${range(min, max)}`}`;
    return {
      expect,
      check: (v: unknown, at: SchemaAt): number => {
        if (typeof v !== "number" || Number.isNaN(v) || (finite && !Number.isFinite(v))) fail(at, expect, v);
        if (v < min || v > max) fail(at, expect, v);
        return v;
      },
    };
  },
  /** true or false. */
  bool(): Schema<boolean> {
    return {
      expect: "true or false",
      check: (v, at) => {
        if (typeof v !== "boolean") fail(at, "true or false", v);
        return v;
      },
    };
  },
  /** A string of at most `maxLength` characters. */
  str(maxLength = 1 << 20): Schema<string> {
    const expect = `a string of at most ${maxLength} characters`;
    return {
      expect,
      check: (v, at) => {
        if (typeof v !== "string" || v.length > maxLength) fail(at, expect, v);
        return v;
      },
    };
  },
  /** One of the given strings. */
  oneOf<const T extends string>(...options: T[]): Schema<T> {
    const expect = `one of ${options.map((o) => JSON.stringify(o)).join(", ")}`;
    return {
      expect,
      check: (v, at) => {
        if (typeof v !== "string" || !(options as string[]).includes(v)) fail(at, expect, v);
        return v as T;
      },
    };
  },
  /** An array whose length is in [min, max]. */
  array<T>(item: Schema<T>, min = 0, max = 1 << 24): Schema<T[]> {
    const expect = `an array of ${min === max ? min : range(min, max).replace(/^in /, "")} items`;
    return {
      expect,
      check: (v, at) => {
        if (!Array.isArray(v) || v.length < min || v.length > max) fail(at, expect, v);
        return v.map((x, i) => item.check(x, child(at, i)));
      },
    };
  },
  /**
   * An object with the given fields. `optional` fields may be absent (or undefined); other keys
   * are refused unless `extra` is "allow" (e.g. Hugging Face configs carry many fields qkv ignores).
   */
  object<
    F extends Record<string, Schema<unknown>>,
    O extends Record<string, Schema<unknown>> = Record<never, never>,
  >(
    fields: F,
    opts: { optional?: O; extra?: "allow" | "refuse" } = {},
  ): Schema<{ [K in keyof F]: Infer<F[K]> } & { [K in keyof O]?: Infer<O[K]> }> {
    const optional = (opts.optional ?? {}) as Record<string, Schema<unknown>>;
    return {
      expect: "an object",
      check: (v, at) => {
        if (v === null || typeof v !== "object" || Array.isArray(v)) fail(at, "an object", v);
        const rec = v as Record<string, unknown>;
        const out: Record<string, unknown> = opts.extra === "allow" ? { ...rec } : {};
        for (const [k, sch] of Object.entries(fields)) {
          const has = Object.hasOwn(rec, k);
          out[k] = sch.check(has ? rec[k] : undefined, child(at, k));
        }
        for (const [k, sch] of Object.entries(optional)) {
          if (Object.hasOwn(rec, k) && rec[k] !== undefined) out[k] = sch.check(rec[k], child(at, k));
        }
        if (opts.extra !== "allow") {
          for (const k of Object.keys(rec)) {
            if (!Object.hasOwn(fields, k) && !Object.hasOwn(optional, k))
              throw new SchemaError(`${at.file}: unknown field "${child(at, k).path}"`, {
                file: at.file,
                field: child(at, k).path,
              });
          }
        }
        return out as never;
      },
    };
  },
  /** An object used as a map: keys matching `key`, at most `max` entries, values of one schema. */
  record<T>(
    value: Schema<T>,
    opts: { key?: RegExp; keyExpect?: string; max?: number } = {},
  ): Schema<Record<string, T>> {
    const max = opts.max ?? 1 << 24;
    return {
      expect: "an object",
      check: (v: unknown, at: SchemaAt): Record<string, T> => {
        if (v === null || typeof v !== "object" || Array.isArray(v)) fail(at, "an object", v);
        const keys = Object.keys(v as object);
        if (keys.length > max) fail(at, `an object of at most ${max} entries`, `${keys.length} entries`);
        const out: Record<string, T> = Object.create(null);
        for (const k of keys) {
          if (opts.key && !opts.key.test(k))
            throw new SchemaError(
              `${at.file}: key "${child(at, k).path}" must be ${opts.keyExpect ?? `a key matching ${opts.key}`}`,
              { file: at.file, field: child(at, k).path },
            );
          out[k] = value.check((v as Record<string, unknown>)[k], child(at, k));
        }
        return out;
      },
    };
  },
  /** `null`, or a value `inner` accepts. */
  nullable<T>(inner: Schema<T>): Schema<T | null> {
    const expect = `${inner.expect} or null`;
    return {
      expect,
      check: (v, at) => (v === null ? null : inner.check(v, at)),
    };
  },
  /** The first alternative whose `when` test accepts the value decides (so errors stay specific). */
  variant<T>(cases: { when: (v: unknown) => boolean; schema: Schema<T> }[], fallback: Schema<T>): Schema<T> {
    return {
      expect: fallback.expect,
      check: (v, at) => (cases.find((c) => c.when(v))?.schema ?? fallback).check(v, at),
    };
  },
  /** Any value, passed through (for parts another loader validates). */
  any(): Schema<unknown> {
    return { expect: "any value", check: (v) => v };
  },
  /** A custom check that returns an error text (what the value must be) or null. */
  refine<T>(inner: Schema<T>, test: (v: T) => string | null): Schema<T> {
    return {
      expect: inner.expect,
      check: (v, at) => {
        const out = inner.check(v, at);
        const why = test(out);
        if (why !== null) fail(at, why, v);
        return out;
      },
    };
  },
};

/**
 * Checks `value` (from `file`) against `schema` and returns it typed; the error names the file
 * and the field.
 * @example validateJson(s.object({ iter: s.int() }), JSON.parse(text), "trainer_state.json").iter
 */
export function validateJson<T>(schema: Schema<T>, value: unknown, file: string): T {
  return schema.check(value, { file, path: "" });
}

/** A file or folder cannot be read or written (missing, not a folder, no permission, disk full). */
export class FileError extends QkvError {
  /** The system error code when there is one ("ENOENT", "EACCES", …). */
  readonly code?: string;
  constructor(message: string, where: { file?: string; field?: string; code?: string } = {}) {
    super(message, where);
    this.name = "FileError";
    if (where.code !== undefined) this.code = where.code;
  }
}

/** Plain words for the system error codes a user can cause or fix. */
const ERRNO_WORDS: Record<string, string> = {
  ENOENT: "does not exist",
  EEXIST: "already exists",
  ENOTDIR: "a part of the path is a file, not a folder",
  EISDIR: "is a folder, not a file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOSPC: "no space left on the device",
  EROFS: "the file system is read-only",
  ENOTEMPTY: "the folder is not empty",
  EMFILE: "too many open files",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
  EBUSY: "the file or folder is busy",
  EXDEV: "it is on another file system",
};

/** The plain-words form of a system error code (or its message when the code is unknown). */
export function errnoWords(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && ERRNO_WORDS[code]) return ERRNO_WORDS[code];
  return e instanceof Error ? e.message : String(e);
}

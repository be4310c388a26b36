/** CLI errors: a message for the user and an exit code, never a stack trace. */
import { QkvError } from "../src/index.js";

/**
 * The exit codes of every qkv command: one table, used by all commands, printed by `--help`
 * and listed in the README.
 */
export const EXIT = {
  /** Success. */
  ok: 0,
  /** An unexpected internal error: a bug (QKV_DEBUG=1 prints the stack). */
  internal: 1,
  /** Usage: unknown command or flag, a bad flag value or config field. */
  usage: 2,
  /** Bad input: a file or folder is missing, of the wrong kind, malformed or inconsistent. */
  badInput: 3,
  /** Run folder refused: it holds a run (give --resume or --overwrite) or another live qkv process holds its lock. */
  runFolder: 4,
  /** Training hit a NaN/Inf loss, gradient or parameter (--on-nan stop); nothing of that step was saved. */
  nonFinite: 5,
  /** Output cannot be written: permission, full disk, read-only file system. */
  write: 6,
  /** Interrupted (Ctrl-C twice). */
  interrupted: 130,
} as const;

/** The exit-code table as `--help` prints it. */
export const EXIT_HELP = `Exit codes:
  0    success
  1    unexpected internal error (a bug; QKV_DEBUG=1 prints the stack)
  2    usage: unknown command or flag, bad flag value or config field
  3    bad input: a file or folder is missing, of the wrong kind, malformed or inconsistent
  4    run folder refused: it holds a run (use --resume or --overwrite), or another qkv
       process holds its lock
  5    training stopped on a NaN/Inf loss, gradient or parameter (--on-nan stop)
  6    cannot write output: permission, full disk, read-only file system
  130  interrupted (Ctrl-C twice)`;

/** An error whose message is meant for the person at the terminal. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.badInput,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/**
 * The exit code for an error: a CliError's own; a bad-input QkvError (file, field, shape) 3,
 * a config field 2, a NaN stop 5; a system error while writing 6; anything else is a bug (1).
 */
export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (e instanceof QkvError) {
    if (e.name === "NonFiniteError") return EXIT.nonFinite;
    if (e.name === "ConfigError" && e.file === undefined) return EXIT.usage;
    return EXIT.badInput;
  }
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code))
    return ["ENOENT", "ENOTDIR", "EISDIR", "EEXIST"].includes(code) ? EXIT.badInput : EXIT.write;
  return EXIT.internal;
}

/** Parses an integer flag value, naming the flag on failure. */
export function intFlag(
  flag: string,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n))
      throw new CliError(`${flag} expects an integer, got "${v}"`, EXIT.usage);
    // Beyond 2^53 integers are no longer exact ("9007199254740993" reads as …992).
    if (!Number.isSafeInteger(n)) throw new CliError(`${flag} is too large: ${v}`, EXIT.usage);
    if (n < min) throw new CliError(`${flag} must be ≥ ${min}, got ${n}`, EXIT.usage);
    if (n > max) throw new CliError(`${flag} must be ≤ ${max}, got ${n}`, EXIT.usage);
    return n;
  };
}

/** Parses a number flag value, naming the flag on failure. */
export function numFlag(
  flag: string,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
  opts: { minExclusive?: boolean } = {},
): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n))
      throw new CliError(`${flag} expects a number, got "${v}"`, EXIT.usage);
    const low = opts.minExclusive ? n <= min : n < min;
    if (low || n > max) {
      const range =
        max === Number.POSITIVE_INFINITY
          ? `${opts.minExclusive ? ">" : "≥"} ${min}`
          : `in ${opts.minExclusive ? "(" : "["}${min}, ${max}]`;
      throw new CliError(`${flag} must be ${range}, got ${n}`, EXIT.usage);
    }
    return n;
  };
}

/** Parses true/false. */
export function boolFlag(flag: string): (v: string) => boolean {
  return (v: string) => {
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw new CliError(`${flag} expects true or false, got "${v}"`, EXIT.usage);
  };
}

/** camelCase config field → its kebab-case flag name (nLayer → n-layer). */
export function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

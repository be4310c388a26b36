/** CLI errors: a message for the user and an exit code, never a stack trace. */

/** An error whose message is meant for the person at the terminal. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** Parses an integer flag value, naming the flag on failure. */
export function intFlag(flag: string, min = Number.NEGATIVE_INFINITY): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isInteger(n))
      throw new CliError(`${flag} expects an integer, got "${v}"`, 2);
    if (n < min) throw new CliError(`${flag} must be ≥ ${min}, got ${n}`, 2);
    return n;
  };
}

/** Parses a number flag value, naming the flag on failure. */
export function numFlag(
  flag: string,
  min = Number.NEGATIVE_INFINITY,
  max = Number.POSITIVE_INFINITY,
): (v: string) => number {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n)) throw new CliError(`${flag} expects a number, got "${v}"`, 2);
    if (n < min || n > max) throw new CliError(`${flag} must be in [${min}, ${max}], got ${n}`, 2);
    return n;
  };
}

/** Parses true/false. */
export function boolFlag(flag: string): (v: string) => boolean {
  return (v: string) => {
    if (v === "true" || v === "1") return true;
    if (v === "false" || v === "0") return false;
    throw new CliError(`${flag} expects true or false, got "${v}"`, 2);
  };
}

/** camelCase config field → its kebab-case flag name (nLayer → n-layer). */
export function kebab(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

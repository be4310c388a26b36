/**
 * The examples' command-line flags: `--some-name value` pairs over a defaults object, each value
 * parsed as the default's type (a number default takes only a finite number). An unknown flag
 * or a bad value is an error naming the flag.
 * @example const o = parseFlags(process.argv.slice(2), { steps: 100, data: "" });
 */
export function parseFlags<T extends object>(argv: readonly string[], defaults: T): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const key = flag.replace(/^--/, "").replace(/-(\w)/g, (_, c: string) => c.toUpperCase());
    if (!flag.startsWith("--") || !(key in out)) {
      const known = Object.keys(defaults).map(
        (k) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
      );
      throw new Error(`unknown flag ${flag}; the flags are ${known.join(", ")}`);
    }
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`flag ${flag} needs a value`);
    if (typeof out[key] === "number") {
      const n = Number(value);
      if (value.trim() === "" || !Number.isFinite(n))
        throw new Error(`flag ${flag} must be a number, got ${JSON.stringify(value)}`);
      out[key] = n;
    } else out[key] = value;
  }
  return out as T;
}

/** Runs an example's async `main`, printing a failure as one line on stderr and exiting 1. */
export function runMain(main: () => Promise<void>): void {
  main().catch((e) => {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  });
}

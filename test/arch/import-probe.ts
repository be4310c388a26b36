/**
 * Child process of side-effects.test.ts: instruments process.env, the console, stdout/stderr and
 * native-module loading, then imports the package entry points, then makes the first backend call.
 * Prints one JSON line with what each phase touched.
 */
import { pathToFileURL } from "node:url";

interface Touched {
  envReads: string[];
  printed: string[];
  nativeLoads: string[];
}
let touched: Touched = { envReads: [], printed: [], nativeLoads: [] };
const phases: Record<string, Touched> = {};
function endPhase(name: string): void {
  phases[name] = touched;
  touched = { envReads: [], printed: [], nativeLoads: [] };
}

const env = process.env;
process.env = new Proxy(env, {
  get(t, k) {
    if (typeof k === "string") touched.envReads.push(k);
    return Reflect.get(t, k);
  },
  has(t, k) {
    if (typeof k === "string") touched.envReads.push(k);
    return Reflect.has(t, k);
  },
  ownKeys(t) {
    touched.envReads.push("(all keys)");
    return Reflect.ownKeys(t);
  },
});
for (const level of ["log", "info", "warn", "error", "debug", "trace"] as const) {
  console[level] = (...args: unknown[]) => {
    touched.printed.push(`console.${level}: ${args.join(" ")}`);
  };
}
const writeOut = process.stdout.write.bind(process.stdout);
for (const stream of [process.stdout, process.stderr]) {
  stream.write = ((chunk: unknown) => {
    touched.printed.push(`${stream === process.stdout ? "stdout" : "stderr"}: ${String(chunk)}`);
    return true;
  }) as typeof stream.write;
}
// A native backend is a .node addon; Node loads every addon through process.dlopen.
const dlopen = process.dlopen;
process.dlopen = ((module: unknown, filename: string, ...rest: unknown[]) => {
  touched.nativeLoads.push(filename);
  return (dlopen as (...a: unknown[]) => unknown)(module, filename, ...rest);
}) as typeof process.dlopen;

const root = new URL("../../", import.meta.url);
const qkv = await import(pathToFileURL(new URL("src/index.ts", root).pathname).href);
await import(pathToFileURL(new URL("src/node.ts", root).pathname).href);
endPhase("import");
const tensorMethods = ["add", "matmul", "backward"].every(
  (m) => typeof qkv.Tensor.prototype[m] === "function",
);
let backendName = "";
let info: unknown = null;
let firstUseError: { name: string; message: string; field?: string } | null = null;
try {
  backendName = qkv.getBackendName();
  info = qkv.backendInfo();
} catch (e) {
  const err = e as InstanceType<typeof qkv.QkvError>;
  firstUseError = { name: err.name, message: err.message, field: err.field };
}
endPhase("firstUse");
const registered = qkv.listBackends();
writeOut(`${JSON.stringify({ phases, tensorMethods, backendName, info, firstUseError, registered })}\n`);

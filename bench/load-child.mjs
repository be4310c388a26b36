// One measurement of bench/load.ts in a process of its own: `fromPretrained(GPT, dir)` timed, then
// VmRSS and VmHWM, then a first forward on 8 tokens and its logits' sum. Plain JavaScript so it
// can run the compiled library (dist/, no loader in the process) or, under `--import tsx`, src/.
//   node bench/load-child.mjs DIR dist|src native|cpu
import { readFileSync } from "node:fs";

const [dir, from, backend] = process.argv.slice(2);
const vmMiB = (field) => {
  const m = readFileSync("/proc/self/status", "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};
const ext = from === "dist" ? "js" : "ts";
const base = from === "dist" ? "../dist/src" : "../src";
const { GPT, setBackend, tensor, withNoGrad } = await import(`${base}/index.${ext}`);
const { fromPretrained } = await import(`${base}/node.${ext}`);
const { loadNativeBackend, nativeLoadError } = await import(`${base}/backends/native/index.${ext}`);
const { cpuBackend } = await import(`${base}/backends/cpu/index.${ext}`);
if (backend === "native") {
  const native = loadNativeBackend();
  if (!native) throw new Error(`native backend unavailable: ${nativeLoadError()}`);
  setBackend(native);
} else setBackend(cpuBackend);
const before = vmMiB("VmRSS");
const t0 = performance.now();
const c0 = process.cpuUsage();
const model = await fromPretrained(GPT, dir);
const loadS = (performance.now() - t0) / 1000;
const c1 = process.cpuUsage(c0);
const rss = vmMiB("VmRSS");
const hwm = vmMiB("VmHWM");
const ids = tensor(
  Int32Array.from({ length: 8 }, (_, i) => i % model.config.vocabSize),
  { shape: [1, 8] },
);
const t1 = performance.now();
const logits = withNoGrad(() => model.forward(ids).logits.toArray());
const forwardS = (performance.now() - t1) / 1000;
let checksum = 0;
for (const v of logits) checksum += v;
console.log(
  JSON.stringify({
    load_s: loadS,
    load_cpu_s: (c1.user + c1.system) / 1e6,
    rss_before_mib: before,
    rss_mib: rss,
    hwm_mib: hwm,
    forward_s: forwardS,
    rss_after_forward_mib: vmMiB("VmRSS"),
    checksum,
  }),
);

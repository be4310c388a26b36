// Builds the WebAssembly backend's two modules (plain SIMD128 and relaxed SIMD) from the same C++
// kernels as the native addon, and writes them, packed (scripts/wasm-pack.mjs) with a hash of their
// sources and flags, into src/backends/wasm/gen/binary.ts (committed, so `npm install qkv` needs no
// compiler).
// Developer-only: needs clang-19 and wasm-ld-19 with Debian's wasi-libc and libc++ for wasm32.
//
//   node scripts/build-wasm.mjs          rebuild both modules and the generated file
//   node scripts/build-wasm.mjs --check  exit 1 when the generated file is stale (no compiler needed)
//   node scripts/build-wasm.mjs --tune relaxed QKV_WASM_MR=6 …   one variant with extra defines, into
//                                        build/wasm-tune/ only (for measuring tile sizes; --names
//                                        keeps function names for profiles)
//
// The build is reproducible: the same sources and flags give the same bytes (no paths or dates are
// embedded; -ffile-prefix-map strips the checkout's location from any debug names).
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeOpHeader } from "./gen-op-header.mjs";
import { packedModuleLines } from "./wasm-pack.mjs";
import { wasmSourceHash } from "./wasm-source-hash.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build", "wasm");
const genFile = join(root, "src", "backends", "wasm", "gen", "binary.ts");

const CLANG = process.env.CLANG ?? "clang-19";
const WASM_LD = process.env.WASM_LD ?? "wasm-ld-19";
const LIBCXX_INC = "/usr/lib/llvm-19/include/wasm32-wasi/c++/v1";
const LIBC_INC = "/usr/include/wasm32-wasi";
const LIBS = [
  "/usr/lib/llvm-19/lib/wasm32-wasi/libc++.a",
  "/usr/lib/wasm32-wasi/libc.a",
  "/usr/lib/llvm-19/lib/clang/19/lib/wasi/libclang_rt.builtins-wasm32.a",
];

// Translation units of the module (the kernels, native/addon.cc's entry points through the Node-API
// shim, the thread pool and the allocator).
export const SOURCES = [
  "native/wasm/entry.cc",
  "native/generic.cc",
  "native/isa_wasm.cc",
  "native/pool_wasm.cc",
  "native/wasm/alloc.cc",
];

const CFLAGS = [
  "--target=wasm32-wasi",
  "-O3",
  "-std=c++17",
  "-msimd128",
  "-matomics",
  "-mbulk-memory",
  "-mmutable-globals",
  "-mnontrapping-fptoint",
  "-msign-ext",
  "-fno-exceptions",
  "-fno-rtti",
  "-ffp-contract=off",
  "-fno-math-errno",
  "-fno-trapping-math",
  "-fvisibility=hidden",
  "-Werror=switch",
  "-nostdlibinc",
  `-isystem${LIBCXX_INC}`,
  `-isystem${LIBC_INC}`,
  "-D_LIBCPP_HAS_NO_THREADS",
  "-DNDEBUG",
  `-ffile-prefix-map=${root}=.`,
];

const LDFLAGS = [
  "--no-entry",
  "--import-memory",
  "--shared-memory",
  "--max-memory=4294967296",
  "--initial-memory=16777216",
  "-z",
  "stack-size=1048576",
  "--no-check-features", // wasi-libc's libc.a is built without atomics; only thread-safe parts are used
  "--export=__stack_pointer",
  "--export=__wasm_init_tls",
  "--export=__tls_size",
  "--export=__tls_align",
  "--export=__tls_base",
  "--export=__heap_base",
  "--export=__wasm_call_ctors",
  "--gc-sections",
  "--strip-all",
];

export const VARIANTS = {
  simd: [],
  relaxed: ["-mrelaxed-simd", "-DQKV_WASM_RELAXED=1"],
};

export function buildFlags() {
  return { CFLAGS, LDFLAGS, VARIANTS, SOURCES };
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8" });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}\n${r.stderr}`);
  return r.stdout;
}

function buildVariant(name, extra, base = out, names = false) {
  const dir = join(base, name);
  mkdirSync(dir, { recursive: true });
  const objs = [];
  for (const src of SOURCES) {
    const obj = join(dir, `${src.replace(/[/.]/g, "_")}.o`);
    run(CLANG, [...CFLAGS, ...extra, "-c", src, "-o", obj]);
    objs.push(obj);
  }
  const wasm = join(dir, "qkv.wasm");
  const ld = names ? LDFLAGS.filter((f) => f !== "--strip-all") : LDFLAGS;
  run(WASM_LD, [...ld, ...objs, ...LIBS, "-o", wasm]);
  return readFileSync(wasm);
}

function main() {
  const check = process.argv.includes("--check");
  const hash = wasmSourceHash(root);
  if (check) {
    const cur = readFileSync(genFile, "utf8");
    if (!cur.includes(`"${hash}"`)) {
      console.error("src/backends/wasm/gen/binary.ts is stale: rebuild with node scripts/build-wasm.mjs");
      process.exit(1);
    }
    return;
  }
  writeOpHeader(root);
  const tune = process.argv.indexOf("--tune");
  if (tune >= 0) {
    const variant = process.argv[tune + 1];
    const rest = process.argv.slice(tune + 2);
    const names = rest.includes("--names"); // keep function names (profiles)
    const defs = rest.filter((d) => d !== "--names").map((d) => `-D${d}`);
    const tag = [variant, ...rest].join("_").replace(/[^A-Za-z0-9_=]/g, "");
    buildVariant(tag, [...VARIANTS[variant], ...defs], join(root, "build", "wasm-tune"), names);
    console.log(join(root, "build", "wasm-tune", tag, "qkv.wasm"));
    return;
  }
  const mods = {};
  if (process.argv.includes("--repack")) {
    // Re-encodes the committed modules after a change to their packaging only (this script's output
    // format, scripts/wasm-pack.mjs): it compiles nothing, so the next full build must give the
    // same module bytes (their sha-256 digests are in the file).
    const cur = readFileSync(genFile, "utf8");
    const raw = (k) => cur.match(new RegExp(`${k} = "([^"]+)"`))?.[1];
    if (!raw("WASM_SIMD") || !raw("WASM_RELAXED"))
      throw new Error("--repack reads the unpacked format; run a full build instead");
    mods.simd = Buffer.from(raw("WASM_SIMD"), "base64");
    mods.relaxed = Buffer.from(raw("WASM_RELAXED"), "base64");
  } else {
    for (const [name, extra] of Object.entries(VARIANTS)) mods[name] = buildVariant(name, extra);
  }
  mkdirSync(dirname(genFile), { recursive: true });
  const packed = packedModuleLines(mods.simd, mods.relaxed);
  const lines = [
    "// Generated by scripts/build-wasm.mjs from native/ (do not edit). The two WebAssembly modules of the",
    "// wasm backend (packed by scripts/wasm-pack.mjs, read by src/backends/wasm/pack.ts) and the hash of",
    "// the sources and flags they were built from (test/wasm/runtime.test.ts recomputes it).",
    `export const WASM_SOURCE_HASH = "${hash}";`,
    ...packed.lines,
    "",
  ];
  writeFileSync(genFile, lines.join("\n"));
  console.log(`wrote ${genFile}: simd ${mods.simd.length} B, relaxed ${mods.relaxed.length} B, hash ${hash}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}

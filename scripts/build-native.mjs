// Builds the optional native backend (build/Release/qkv_native.node) with node-gyp.
// Installation must never fail because of it: any problem prints one warning and exits 0, and the
// library then falls back to the JavaScript backend. Set QKV_SKIP_NATIVE=1 to skip the build,
// QKV_NATIVE_VERBOSE=1 to see the compiler output.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeOpHeader } from "./gen-op-header.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const verbose = process.env.QKV_NATIVE_VERBOSE === "1";

function warn(reason) {
  console.warn(`qkv: native backend not built (${reason}); using the JavaScript backend.`);
  process.exit(0);
}

function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  try {
    candidates.push(createRequire(join(root, "package.json")).resolve("node-gyp/bin/node-gyp.js"));
  } catch {}
  const prefix = resolve(dirname(process.execPath), "..");
  candidates.push(
    join(prefix, "lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
    join(dirname(process.execPath), "node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"),
    "/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/local/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js",
    "/usr/share/nodejs/node-gyp/bin/node-gyp.js",
  );
  return candidates.find((p) => p && existsSync(p));
}

function main() {
  if (process.env.QKV_SKIP_NATIVE === "1") {
    console.warn("qkv: QKV_SKIP_NATIVE=1, native backend skipped.");
    return;
  }
  if (!existsSync(join(root, "binding.gyp"))) return warn("binding.gyp missing");
  // The op codes come from the TypeScript op tables; node-gyp's rebuild wipes build/, so the header
  // lives in native/gen/ (git-ignored).
  writeOpHeader(root);
  const gyp = findNodeGyp();
  if (!gyp) return warn("node-gyp not found");
  const args = [gyp, "rebuild"];
  // Build against the headers of the running Node when they are installed next to it, so nothing has
  // to be downloaded (an explicit npm_config_nodedir wins).
  if (!process.env.npm_config_nodedir) {
    const prefix = resolve(dirname(process.execPath), "..");
    if (existsSync(join(prefix, "include/node/node_api.h"))) args.push(`--nodedir=${prefix}`);
  }
  const jobs = process.env.JOBS ?? "max";
  args.push(`--jobs=${jobs}`);
  const r = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: verbose ? "inherit" : "pipe",
    encoding: "utf8",
    env: process.env,
  });
  if (!verbose) {
    try {
      mkdirSync(join(root, "build"), { recursive: true });
      writeFileSync(join(root, "build/native-build.log"), `${r.stdout ?? ""}\n${r.stderr ?? ""}`);
    } catch {}
  }
  if (r.error) return warn(r.error.message);
  if (r.status !== 0) {
    const lines = `${r.stderr ?? ""}`.split("\n").filter((l) => /error/i.test(l));
    const hint = lines.length ? `: ${lines[0].trim().slice(0, 160)}` : "";
    return warn(`node-gyp exited with ${r.status}${hint}; see build/native-build.log`);
  }
  if (!existsSync(join(root, "build/Release/qkv_native.node"))) return warn("addon missing after build");
}

try {
  main();
} catch (e) {
  warn(e instanceof Error ? e.message : String(e));
}

#!/usr/bin/env node
// Entry point of the `qkv` command. The TypeScript sources are compiled to dist/ by `npm install`
// (the package's prepare script); this file only loads that build.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const main = join(root, "dist", "cli", "main.js");
if (!existsSync(main)) {
  process.stderr.write(`qkv: ${main} is missing; run "npm install" (or "npm run build") in ${root} first\n`);
  process.exit(1);
}
const { run } = await import(pathToFileURL(main).href);
process.exitCode = await run(process.argv);

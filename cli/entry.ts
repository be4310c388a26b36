// Runs the CLI from the TypeScript sources (`node --import tsx cli/entry.ts …`), for development
// and the CLI tests; the installed `qkv` command runs the compiled build through bin/qkv.js.
import { run } from "./main.js";

process.exitCode = await run(process.argv);

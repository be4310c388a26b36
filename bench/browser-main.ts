/** Main-thread entry of the bench page: bench/browser-runner.ts as `globalThis.callMain(msg)`. */
import { handle, type Msg } from "./browser-runner.js";

(globalThis as unknown as { callMain(m: Msg): Promise<unknown> }).callMain = (m) =>
  handle(m).catch((err) => ({ error: String((err as Error)?.stack ?? err) }));

/** Module Web Worker entry of the bench page: bench/browser-runner.ts behind postMessage. */
import { handle, type Msg } from "./browser-runner.js";

const scope = globalThis as unknown as {
  onmessage: ((e: { data: Msg }) => void) | null;
  postMessage(m: unknown): void;
};
scope.onmessage = (e) => {
  handle(e.data).then(
    (r) => scope.postMessage(r),
    (err) => scope.postMessage({ error: String((err as Error)?.stack ?? err) }),
  );
};

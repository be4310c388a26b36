/**
 * Training progress on stderr: a live bar with loss, tokens/s and ETA on a terminal, and one
 * plain line per logging interval in a pipe or CI (so logs stay readable).
 */
import cliProgress from "cli-progress";
import type { TrainEvent } from "../src/index.js";
import { formatDuration } from "./runtime.js";

type StepEvent = Extract<TrainEvent, { type: "step" }>;
type EvalEvent = Extract<TrainEvent, { type: "eval" }>;

function fmtRate(tokensPerSec: number): string {
  return tokensPerSec >= 1000 ? `${(tokensPerSec / 1000).toFixed(1)}k` : tokensPerSec.toFixed(0);
}

export class Progress {
  private bar: cliProgress.SingleBar | null = null;
  private lastMs = Number.NaN;

  constructor(private readonly opts: { total: number; quiet: boolean; tty: boolean }) {
    if (opts.tty && !opts.quiet) {
      this.bar = new cliProgress.SingleBar(
        {
          format: "{bar} {value}/{total} | loss {loss} | {rate} tok/s | {ms} ms/it | ETA {etaText}",
          barsize: 24,
          hideCursor: true,
          clearOnComplete: false,
          stream: process.stderr,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(opts.total, 0, { loss: "-", rate: "-", ms: "-", etaText: "--:--" });
    }
  }

  private line(s: string): void {
    if (this.opts.quiet) return;
    if (this.bar) {
      // Print above the bar, then redraw it.
      process.stderr.write("\r\x1b[2K");
      process.stderr.write(`${s}\n`);
      this.bar.render();
    } else process.stderr.write(`${s}\n`);
  }

  step(e: StepEvent): void {
    this.lastMs = e.msPerIter;
    const eta = formatDuration(((this.opts.total - e.iter - 1) * e.msPerIter) / 1000);
    if (this.bar) {
      this.bar.update(e.iter + 1, {
        loss: e.loss.toFixed(4),
        rate: fmtRate(e.tokensPerSec),
        ms: e.msPerIter.toFixed(0),
        etaText: eta,
      });
    } else {
      this.line(
        `iter ${e.iter}: loss ${e.loss.toFixed(4)}, lr ${e.lr.toExponential(2)}, ${e.msPerIter.toFixed(1)} ms/iter, ${fmtRate(e.tokensPerSec)} tok/s, ETA ${eta}`,
      );
    }
  }

  eval(e: EvalEvent): void {
    const extra = Object.entries(e.metrics)
      .map(([k, v]) => `, ${k} ${Number.isInteger(v) ? v : v.toFixed(4)}`)
      .join("");
    this.line(
      `step ${e.iter}: train loss ${e.trainLoss.toFixed(4)}, val loss ${e.valLoss.toFixed(4)}${e.improved ? " (best)" : ""}${extra}`,
    );
  }

  note(s: string): void {
    this.line(s);
  }

  done(): void {
    this.bar?.stop();
    this.bar = null;
    void this.lastMs;
  }
}

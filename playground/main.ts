/**
 * The playground page: controls, the live loss curve, streamed samples, attention heatmaps and
 * checkpoint files. All compute happens in worker.ts; this thread only draws and forwards
 * requests, which the "UI thread" meter in the header makes visible while training runs.
 */
import type { FromWorker, ModelInfo, SampleSettings, ToWorker, TrainSettings } from "./protocol.js";

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const send = (m: ToWorker, transfer: Transferable[] = []) => worker.postMessage(m, transfer);

// ---- presets ---------------------------------------------------------------------------------

type Preset = Omit<TrainSettings, "seed" | "dataName">;
const PRESETS: Record<string, Preset> = {
  tiny: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 32, batchSize: 8, maxIters: 2000, lr: 1e-3 },
  small: { nLayer: 4, nHead: 4, nEmbd: 64, blockSize: 64, batchSize: 12, maxIters: 2000, lr: 1e-3 },
  "shakespeare-char": {
    nLayer: 4,
    nHead: 4,
    nEmbd: 128,
    blockSize: 64,
    batchSize: 12,
    maxIters: 2000,
    lr: 1e-3,
  },
};
const FIELDS = ["nLayer", "nHead", "nEmbd", "blockSize", "batchSize", "maxIters", "lr"] as const;

function applyPreset(name: string): void {
  const p = PRESETS[name] ?? PRESETS.tiny;
  for (const f of FIELDS) $<HTMLInputElement>(`f-${f}`).value = String(p[f]);
}

const params = new URLSearchParams(location.search);
const presetSelect = $<HTMLSelectElement>("preset");
presetSelect.value = params.get("preset") ?? "tiny";
applyPreset(presetSelect.value);
$<HTMLInputElement>("f-seed").value = params.get("seed") ?? "1337";
presetSelect.addEventListener("change", () => applyPreset(presetSelect.value));

for (const r of document.querySelectorAll<HTMLInputElement>('input[name="data"]')) {
  r.addEventListener("change", () => {
    $("train-text").hidden = dataChoice() !== "text";
  });
}
function dataChoice(): string {
  return document.querySelector<HTMLInputElement>('input[name="data"]:checked')!.value;
}

// ---- errors ----------------------------------------------------------------------------------

function showError(where: string, message: string): void {
  const el = $("error");
  el.textContent = `${where}: ${message}`;
  el.hidden = false;
}
function clearError(): void {
  $("error").hidden = true;
}

// ---- UI-thread meter: frames drawn here while the worker computes ----------------------------

let frames = 0;
let lastFrame = performance.now();
let windowStart = lastFrame;
let windowFrames = 0;
let longest = 0;
function tick(now: number): void {
  frames++;
  windowFrames++;
  longest = Math.max(longest, now - lastFrame);
  lastFrame = now;
  const pulse = 0.55 + 0.45 * Math.sin(now / 180);
  $("heartbeat").style.opacity = pulse.toFixed(2);
  if (now - windowStart >= 500) {
    const fps = (1000 * windowFrames) / (now - windowStart);
    $("ui-fps").textContent = `UI thread ${fps.toFixed(0)} fps · longest frame ${longest.toFixed(0)} ms`;
    $("ui-meter").dataset.frames = String(frames);
    windowStart = now;
    windowFrames = 0;
    longest = 0;
  }
  if (chartDirty) drawChart();
  requestAnimationFrame(tick);
}
requestAnimationFrame(tick);

// ---- loss chart ------------------------------------------------------------------------------

const steps: { iter: number; loss: number; ema: number }[] = [];
const evals: { iter: number; valLoss: number; trainLoss: number }[] = [];
let chartDirty = true;
let maxIters = 0;

function niceTicks(lo: number, hi: number, n: number): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= n) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

function drawChart(): void {
  chartDirty = false;
  const canvas = $<HTMLCanvasElement>("loss-chart");
  const dpr = window.devicePixelRatio || 1;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
  }
  const g = canvas.getContext("2d")!;
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, w, h);
  const pad = { l: 46, r: 14, t: 14, b: 28 };
  const pw = w - pad.l - pad.r;
  const ph = h - pad.t - pad.b;
  g.font = "11px system-ui, sans-serif";
  if (steps.length === 0) {
    g.fillStyle = "#9aa0b8";
    g.textAlign = "center";
    g.fillText("the loss curve appears here once training starts", w / 2, h / 2);
    return;
  }
  const xMax = Math.max(steps[steps.length - 1].iter + 1, Math.min(maxIters, 50), 10);
  let yLo = Number.POSITIVE_INFINITY;
  let yHi = Number.NEGATIVE_INFINITY;
  for (const s of steps) {
    yLo = Math.min(yLo, s.loss);
    yHi = Math.max(yHi, s.loss);
  }
  for (const e of evals) {
    yLo = Math.min(yLo, e.valLoss);
    yHi = Math.max(yHi, e.valLoss);
  }
  yLo = Math.max(0, yLo - 0.05 * (yHi - yLo));
  yHi += 0.05 * (yHi - yLo) || 0.5;
  const X = (it: number) => pad.l + (it / xMax) * pw;
  const Y = (v: number) => pad.t + (1 - (v - yLo) / (yHi - yLo)) * ph;
  g.strokeStyle = "#eceef5";
  g.fillStyle = "#8a90a8";
  g.lineWidth = 1;
  g.textAlign = "right";
  g.textBaseline = "middle";
  for (const v of niceTicks(yLo, yHi, 5)) {
    g.beginPath();
    g.moveTo(pad.l, Y(v));
    g.lineTo(pad.l + pw, Y(v));
    g.stroke();
    g.fillText(v.toFixed(2), pad.l - 6, Y(v));
  }
  g.textAlign = "center";
  g.textBaseline = "top";
  for (const v of niceTicks(0, xMax, 6)) g.fillText(String(v), X(v), pad.t + ph + 7);
  // raw per-step loss, then its moving average, then validation points
  const line = (y: (s: (typeof steps)[number]) => number) => {
    g.beginPath();
    g.moveTo(X(steps[0].iter), Y(y(steps[0])));
    for (const s of steps) g.lineTo(X(s.iter), Y(y(s)));
    g.stroke();
  };
  g.strokeStyle = "rgba(79, 70, 229, 0.22)";
  line((s) => s.loss);
  g.strokeStyle = "#4f46e5";
  g.lineWidth = 2;
  line((s) => s.ema);
  g.fillStyle = "#e8590c";
  for (const e of evals) {
    g.beginPath();
    g.arc(X(e.iter), Y(e.valLoss), 3.5, 0, 2 * Math.PI);
    g.fill();
  }
  // legend, right-aligned in the plot's top corner
  g.textAlign = "left";
  g.textBaseline = "middle";
  const trainLabel = "train (smoothed)";
  const width = 19 + g.measureText(trainLabel).width + 16 + 12 + g.measureText("val").width;
  const lx = pad.l + pw - width - 8;
  const ly = pad.t + 8;
  g.fillStyle = "#4f46e5";
  g.fillRect(lx, ly - 1, 14, 2);
  g.fillStyle = "#555b75";
  g.fillText(trainLabel, lx + 19, ly);
  const vx = lx + 19 + g.measureText(trainLabel).width + 16;
  g.fillStyle = "#e8590c";
  g.beginPath();
  g.arc(vx, ly, 3.5, 0, 2 * Math.PI);
  g.fill();
  g.fillStyle = "#555b75";
  g.fillText("val", vx + 8, ly);
}
window.addEventListener("resize", () => {
  chartDirty = true;
});

// ---- training --------------------------------------------------------------------------------

let shakespeare: Promise<string> | null = null;
let hasModel = false;
let generating = false;

function setButtons(training: boolean, trainable: boolean): void {
  $<HTMLButtonElement>("btn-pause").disabled = !training;
  $<HTMLButtonElement>("btn-resume").disabled = training || !trainable || finished;
  $<HTMLButtonElement>("btn-generate").disabled = !hasModel || generating;
  $<HTMLButtonElement>("btn-stop").disabled = !generating;
  $<HTMLButtonElement>("btn-attention").disabled = !hasModel;
  $<HTMLButtonElement>("btn-download").disabled = !hasModel;
}
let isTraining = false;
let isTrainable = false;
/** The run has done all its steps: nothing to resume. */
let finished = false;

$("btn-train").addEventListener("click", async () => {
  clearError();
  let text: string;
  let dataName = "";
  if (dataChoice() === "text") {
    text = $<HTMLTextAreaElement>("train-text").value;
    dataName = "pasted text (playground)";
  } else {
    shakespeare ??= fetch(new URL("data/tinyshakespeare.txt", location.href)).then((r) => {
      if (!r.ok) throw new Error(`cannot fetch the bundled Tiny Shakespeare (HTTP ${r.status})`);
      return r.text();
    });
    try {
      text = await shakespeare;
    } catch (e) {
      shakespeare = null;
      return showError("data", (e as Error).message);
    }
  }
  const settings: TrainSettings = {
    nLayer: num("f-nLayer"),
    nHead: num("f-nHead"),
    nEmbd: num("f-nEmbd"),
    blockSize: num("f-blockSize"),
    batchSize: num("f-batchSize"),
    maxIters: num("f-maxIters"),
    lr: num("f-lr"),
    seed: num("f-seed"),
    dataName,
  };
  for (const [k, v] of Object.entries(settings)) {
    if (typeof v === "number" && !(Number.isFinite(v) && v > 0) && k !== "seed")
      return showError("train", `${k} must be a positive number`);
  }
  if (settings.nEmbd % settings.nHead !== 0)
    return showError("train", `width (${settings.nEmbd}) must be divisible by heads (${settings.nHead})`);
  resetRunView();
  clearMaps();
  maxIters = settings.maxIters;
  send({ type: "train-new", settings, text });
});
$("btn-pause").addEventListener("click", () => send({ type: "pause" }));
$("btn-resume").addEventListener("click", () => send({ type: "resume" }));

/** Empties the loss curve and the run's figures (a new run, or a checkpoint replacing the model). */
function resetRunView(): void {
  steps.length = 0;
  evals.length = 0;
  chartDirty = true;
  for (const id of ["s-step", "s-loss", "s-val", "s-tps", "s-ms"]) $(id).textContent = "–";
  const h = $("val-history");
  h.textContent = "";
  for (const k of Object.keys(h.dataset)) delete h.dataset[k];
}

function describeModel(i: ModelInfo): string {
  const what = i.source === "checkpoint" ? "Checkpoint" : "Model";
  const trained = i.source === "trained" || i.iter === null ? "" : ` · trained ${i.iter} steps`;
  return `${what}: ${i.nLayer} layers × ${i.nHead} heads, width ${i.nEmbd}, context ${i.blockSize}, vocabulary ${i.vocabSize} (${i.tokenizer}), ${i.params.toLocaleString("en-US")} parameters${trained}`;
}

// ---- generation ------------------------------------------------------------------------------

for (const k of ["temperature", "topK", "topP"]) {
  const input = $<HTMLInputElement>(`g-${k}`);
  const show = () => {
    $(`o-${k}`).textContent = k === "topK" && input.value === "0" ? "off" : input.value;
  };
  input.addEventListener("input", show);
  show();
}

$("btn-generate").addEventListener("click", () => {
  clearError();
  const settings: SampleSettings = {
    prompt: $<HTMLTextAreaElement>("g-prompt").value,
    maxNewTokens: num("g-maxNewTokens"),
    temperature: num("g-temperature"),
    topK: num("g-topK"),
    topP: num("g-topP"),
    seed: num("g-seed"),
  };
  $("gen-prompt").textContent = settings.prompt;
  $("gen-text").textContent = "";
  $("gen-output").dataset.state = "running";
  $("gen-stats").textContent = "generating…";
  generating = true;
  setButtons(isTraining, isTrainable);
  send({ type: "generate", settings });
});
$("btn-stop").addEventListener("click", () => send({ type: "stop-generate" }));

// ---- attention maps ----------------------------------------------------------------------------

/** Viridis, sampled at 9 points (matplotlib's colormap) and interpolated linearly. */
const VIRIDIS = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];
function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1);
  const i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - i;
  const a = VIRIDIS[i];
  const b = VIRIDIS[i + 1];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}

/** A token as a label: whitespace made visible. */
function show(tok: string): string {
  return tok.replace(/\n/g, "↵").replace(/\t/g, "⇥").replace(/ /g, "␣") || "∅";
}

interface AttentionMaps {
  tokens: string[];
  dropped: number;
  nLayer: number;
  nHead: number;
  T: number;
  weights: Float32Array;
}
let maps: AttentionMaps | null = null;
let selected = { layer: 0, head: 0 };

function mapAt(m: AttentionMaps, layer: number, head: number): Float32Array {
  const n = m.T * m.T;
  return m.weights.subarray((layer * m.nHead + head) * n, (layer * m.nHead + head + 1) * n);
}

/** Paints one T×T map into a canvas, `cell` pixels per entry, colour = weight ÷ the map's max. */
function paint(canvas: HTMLCanvasElement, w: Float32Array, T: number, cell: number, offset = 0): void {
  const g = canvas.getContext("2d")!;
  let max = 0;
  for (const v of w) max = Math.max(max, v);
  for (let i = 0; i < T; i++) {
    for (let j = 0; j < T; j++) {
      const v = w[i * T + j];
      if (j > i) g.fillStyle = "#f1f2f7";
      else {
        const [r, gg, b] = viridis(max > 0 ? v / max : 0);
        g.fillStyle = `rgb(${r | 0},${gg | 0},${b | 0})`;
      }
      g.fillRect(offset + j * cell, offset + i * cell, cell, cell);
    }
  }
}

function describeCell(m: AttentionMaps, layer: number, head: number, i: number, j: number): string {
  const w = mapAt(m, layer, head)[i * m.T + j];
  return `layer ${layer} · head ${head} · query "${show(m.tokens[i])}" (#${i}) → key "${show(m.tokens[j])}" (#${j}): ${w.toFixed(4)}`;
}

function hover(
  canvas: HTMLCanvasElement,
  cellOf: (x: number, y: number) => [number, number] | null,
  lh: () => [number, number],
) {
  const tip = $("tooltip");
  canvas.addEventListener("mousemove", (e) => {
    if (!maps) return;
    const r = canvas.getBoundingClientRect();
    const scale = canvas.width / r.width;
    const cell = cellOf((e.clientX - r.left) * scale, (e.clientY - r.top) * scale);
    if (!cell || cell[1] > cell[0]) {
      tip.hidden = true;
      return;
    }
    const [layer, head] = lh();
    const text = describeCell(maps, layer, head, cell[0], cell[1]);
    $("attn-readout").textContent = text;
    tip.textContent = text;
    tip.hidden = false;
    // keep the tooltip on screen: flip it to the cursor's left near the right edge
    const flip = e.clientX + 14 + tip.offsetWidth > window.innerWidth - 8;
    tip.style.left = `${flip ? e.clientX - 14 - tip.offsetWidth : e.clientX + 14}px`;
    tip.style.top = `${e.clientY + 14}px`;
  });
  canvas.addEventListener("mouseleave", () => {
    tip.hidden = true;
  });
}

function drawBig(): void {
  if (!maps) return;
  const { T, tokens } = maps;
  const canvas = $<HTMLCanvasElement>("attn-big");
  const label = 22;
  const cell = Math.max(4, Math.floor(380 / T));
  canvas.width = label + T * cell;
  canvas.height = label + T * cell;
  const g = canvas.getContext("2d")!;
  g.clearRect(0, 0, canvas.width, canvas.height);
  paint(canvas, mapAt(maps, selected.layer, selected.head), T, cell, label);
  g.fillStyle = "#555b75";
  g.font = `${Math.min(12, cell)}px ui-monospace, monospace`;
  g.textAlign = "center";
  g.textBaseline = "middle";
  if (cell >= 8) {
    tokens.forEach((t, i) => {
      const c = label + i * cell + cell / 2;
      g.fillText(show(t).slice(0, 1), c, label / 2); // keys along the top
      g.fillText(show(t).slice(0, 1), label / 2, c); // queries down the side
    });
  }
  document.querySelectorAll(".attn-grid canvas").forEach((c) => {
    const el = c as HTMLCanvasElement;
    el.classList.toggle(
      "selected",
      Number(el.dataset.layer) === selected.layer && Number(el.dataset.head) === selected.head,
    );
  });
}

function drawMaps(m: AttentionMaps): void {
  maps = m;
  $("attn-readout").textContent =
    m.dropped > 0
      ? `The prompt is longer than the context: these are its last ${m.T} tokens (${m.dropped} dropped). Hover a cell.`
      : "Hover a cell to see the token pair and its weight.";
  selected = { layer: Math.min(selected.layer, m.nLayer - 1), head: Math.min(selected.head, m.nHead - 1) };
  const grid = $("attn-grid");
  grid.replaceChildren();
  // Small multiples: about 560 px across all heads, 2 to 12 px a cell.
  const cell = Math.max(2, Math.min(12, Math.floor(Math.min(200, 560 / m.nHead) / m.T)));
  grid.style.gridTemplateColumns = `auto repeat(${m.nHead}, ${m.T * cell}px)`;
  grid.append(document.createElement("span"));
  for (let h = 0; h < m.nHead; h++) {
    const s = document.createElement("span");
    s.className = "head-label";
    s.textContent = `head ${h}`;
    grid.append(s);
  }
  for (let l = 0; l < m.nLayer; l++) {
    const s = document.createElement("span");
    s.className = "layer-label";
    s.textContent = `layer ${l}`;
    grid.append(s);
    for (let h = 0; h < m.nHead; h++) {
      const c = document.createElement("canvas");
      c.width = m.T * cell;
      c.height = m.T * cell;
      c.dataset.layer = String(l);
      c.dataset.head = String(h);
      c.title = `layer ${l}, head ${h}`;
      paint(c, mapAt(m, l, h), m.T, cell);
      hover(
        c,
        (x, y) => [Math.floor(y / cell), Math.floor(x / cell)],
        () => [l, h],
      );
      c.addEventListener("click", () => {
        selected = { layer: l, head: h };
        drawBig();
      });
      grid.append(c);
    }
  }
  drawBig();
}
{
  const big = $<HTMLCanvasElement>("attn-big");
  hover(
    big,
    (x, y) => {
      if (!maps) return null;
      const label = 22;
      const cell = (big.width - label) / maps.T;
      const i = Math.floor((y - label) / cell);
      const j = Math.floor((x - label) / cell);
      return i >= 0 && j >= 0 && i < maps.T && j < maps.T ? [i, j] : null;
    },
    () => [selected.layer, selected.head],
  );
}

/** Removes maps of a model that is gone. */
function clearMaps(): void {
  maps = null;
  $("attn-grid").replaceChildren();
  const big = $<HTMLCanvasElement>("attn-big");
  big.width = 0;
  big.height = 0;
  $("attn-readout").textContent = "Hover a cell to see the token pair and its weight.";
}

$("btn-attention").addEventListener("click", () => {
  clearError();
  send({ type: "attention", prompt: $<HTMLInputElement>("a-prompt").value });
});

// ---- checkpoints -----------------------------------------------------------------------------

async function openFiles(list: Iterable<File>): Promise<void> {
  clearError();
  const files: { name: string; data: Uint8Array }[] = [];
  for (const f of list) {
    if (f.name.startsWith(".")) continue;
    files.push({ name: f.webkitRelativePath || f.name, data: new Uint8Array(await f.arrayBuffer()) });
  }
  if (files.length === 0) return showError("open", "no files");
  $("ck-line").textContent = `opening ${files.map((f) => f.name.split("/").pop()).join(", ")}…`;
  send(
    { type: "load", files },
    files.map((f) => f.data.buffer as ArrayBuffer),
  );
}

for (const id of ["in-folder", "in-files"]) {
  const input = $<HTMLInputElement>(id);
  input.addEventListener("change", () => {
    if (input.files) void openFiles([...input.files]);
    input.value = "";
  });
}

/** Files of a dropped folder (DataTransfer entries), recursively. */
async function entryFiles(entry: FileSystemEntry, out: File[]): Promise<void> {
  if (entry.isFile) {
    out.push(await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail)));
  } else if (entry.isDirectory) {
    const reader = (entry as FileSystemDirectoryEntry).createReader();
    for (;;) {
      const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
      if (batch.length === 0) break;
      for (const e of batch) await entryFiles(e, out);
    }
  }
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", async (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const items = [...(e.dataTransfer?.items ?? [])];
  const entries = items.map((i) => i.webkitGetAsEntry?.()).filter((x): x is FileSystemEntry => !!x);
  const files: File[] = [];
  if (entries.length > 0) for (const en of entries) await entryFiles(en, files);
  else files.push(...(e.dataTransfer?.files ?? []));
  void openFiles(files);
});

$("btn-download").addEventListener("click", () => send({ type: "export" }));

function download(name: string, bytes: Uint8Array): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type: "application/zip" }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// ---- worker messages ---------------------------------------------------------------------------

let genStart = 0;
worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "ready": {
      // The reference backend trains the tiny preset at interactive speed; a fast one, the next size up.
      if (!params.has("preset") && m.backend !== "cpu" && !hasModel) {
        presetSelect.value = "small";
        applyPreset("small");
      }
      const b = $("chip-backend");
      b.dataset.backend = m.backend;
      const select = $<HTMLSelectElement>("backend-select");
      select.replaceChildren(
        ...m.backends.map((name) => {
          const o = document.createElement("option");
          o.value = name;
          o.textContent = name;
          o.selected = name === m.backend;
          return o;
        }),
      );
      const iso = $("chip-isolated");
      iso.textContent = m.isolated ? `isolated · ${m.cores} cores` : "not isolated";
      iso.classList.add(m.isolated ? "good" : "warn");
      break;
    }
    case "model":
      hasModel = true;
      isTrainable = m.trainable;
      $("model-line").textContent = describeModel(m.info);
      if (m.info.source === "checkpoint") {
        $("ck-line").textContent = `Opened. ${describeModel(m.info)}.`;
        resetRunView();
        clearMaps();
      }
      setButtons(isTraining, isTrainable);
      break;
    case "data":
      $("ck-line").dataset.vocab = String(m.vocabSize);
      break;
    case "step": {
      const prev = steps.length ? steps[steps.length - 1].ema : m.loss;
      const ema = steps.length ? 0.9 * prev + 0.1 * m.loss : m.loss;
      steps.push({ iter: m.iter, loss: m.loss, ema });
      $("s-step").textContent = `${m.iter + 1}`;
      $("s-loss").textContent = m.loss.toFixed(3);
      $("s-tps").textContent = Math.round(m.tokensPerSec).toLocaleString("en-US");
      $("s-ms").textContent = m.msPerIter.toFixed(1);
      chartDirty = true;
      break;
    }
    case "eval":
      evals.push({ iter: m.iter, valLoss: m.valLoss, trainLoss: m.trainLoss });
      $("s-val").textContent = m.valLoss.toFixed(3);
      {
        const first = evals[0];
        const h = $("val-history");
        h.dataset.firstIter = String(first.iter);
        h.dataset.first = String(first.valLoss);
        h.dataset.lastIter = String(m.iter);
        h.dataset.last = String(m.valLoss);
        h.textContent =
          evals.length > 1
            ? `validation loss ${first.valLoss.toFixed(3)} at step ${first.iter} → ${m.valLoss.toFixed(3)} at step ${m.iter}`
            : `validation loss ${m.valLoss.toFixed(3)} at step ${m.iter}`;
      }
      chartDirty = true;
      break;
    case "training":
      isTraining = m.running;
      maxIters = m.maxIters || maxIters;
      finished = m.maxIters > 0 && m.iter >= m.maxIters;
      $("btn-train").textContent = m.running ? "Restart" : "Train new model";
      setButtons(isTraining, isTrainable);
      break;
    case "token":
      if (!genStart) genStart = performance.now();
      $("gen-text").textContent += m.text;
      {
        const out = $("gen-output");
        out.scrollTop = out.scrollHeight;
      }
      break;
    case "generated":
      genStart = 0;
      generating = false;
      $("gen-text").textContent = m.text;
      $("gen-output").dataset.state = "done";
      $("gen-stats").textContent =
        `${m.tokens} tokens in ${(m.ms / 1000).toFixed(2)} s · ${Math.round((1000 * m.tokens) / Math.max(m.ms, 1))} tokens/s · ${m.finishReason === "callback" ? "stopped" : `finished (${m.finishReason})`}`;
      setButtons(isTraining, isTrainable);
      break;
    case "attention":
      drawMaps(m);
      break;
    case "exported":
      download(m.name, m.zip);
      $("ck-line").textContent =
        `Downloaded ${m.name}: unzip it and run  qkv sample --checkpoint ${m.name.replace(/\.zip$/, "")}`;
      break;
    case "error":
      if (m.where === "generate") {
        generating = false;
        $("gen-output").dataset.state = "idle";
        setButtons(isTraining, isTrainable);
      }
      showError(m.where, m.message);
      break;
  }
};
$("backend-select").addEventListener("change", () => {
  const p = new URLSearchParams(location.search);
  p.set("backend", $<HTMLSelectElement>("backend-select").value);
  location.search = p.toString();
});
worker.onerror = (e) => showError("worker", e.message || "the worker failed to start");

send({ type: "init", backend: params.get("backend") });
setButtons(false, false);

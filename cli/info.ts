/**
 * `qkv info`: the compute backend that runs (and why faster ones did not load), and what a
 * checkpoint holds. It reads the configs and the weights' shapes and builds no model (a config that
 * disagrees with the weights was refused when the checkpoint was read).
 */
import { backendInfo, bertConfigFromHF, gpt2ConfigFromHF } from "../src/index.js";
import { openCheckpoint } from "./checkpoint.js";
import { isClassifier } from "./classify.js";
import { CliError, exitCodeOf } from "./errors.js";
import { chooseBackend } from "./runtime.js";
import { labelsOf } from "./tasks.js";

export async function infoCommand(flags: {
  checkpoint?: string;
  backend?: string;
  threads?: number;
}): Promise<void> {
  // The backend lines come first, so `qkv info` alone answers "what runs here".
  const described = chooseBackend(flags, () => {});
  const bi = backendInfo();
  const by =
    flags.backend !== undefined && flags.backend !== "auto"
      ? "--backend"
      : flags.backend === undefined && process.env.QKV_BACKEND && process.env.QKV_BACKEND !== "auto"
        ? "QKV_BACKEND"
        : "auto (the fastest that loads)";
  const backendLines = [`backend: ${described}, chosen by ${by}`];
  for (const s of bi.skipped) backendLines.push(`  ${s.name} did not load: ${s.reason}`);
  process.stdout.write(`${backendLines.join("\n")}\n`);
  if (flags.checkpoint === undefined) return;
  const ck = await openCheckpoint(flags.checkpoint);
  const tc = ck.trainConfig;
  let params = 0;
  let architecture = String(tc.model);
  try {
    if (tc.model === "gpt") {
      const c = gpt2ConfigFromHF(ck.config);
      // A bias-free GPT's checkpoint carries zero biases for HF compatibility: not parameters.
      for (const [name, r] of ck.weights) if (c.bias || !name.endsWith(".bias")) params += r.data.length;
      architecture = `GPT-2 architecture: ${c.nLayer} layers, ${c.nHead} heads, width ${c.nEmbd}, context ${c.blockSize}, vocabulary ${c.vocabSize}, bias ${c.bias}`;
    } else if (tc.model === "bert") {
      const c = bertConfigFromHF(ck.config);
      for (const r of ck.weights.values()) params += r.data.length;
      const labels = isClassifier(ck) ? labelsOf(ck.config) : null;
      architecture = `BERT ${labels ? "sequence classifier" : "masked-LM"}: ${c.numHiddenLayers} layers, ${c.numAttentionHeads} heads, width ${c.hiddenSize}, vocabulary ${c.vocabSize}`;
      if (labels)
        architecture += `\nlabels: ${labels.length} (${labels.map((l, i) => `${i} ${l}`).join(", ")})`;
    } else if (ck.hf) {
      for (const r of ck.weights.values()) params += r.data.length;
      const c = ck.config;
      architecture = `BART encoder-decoder: ${String(c.encoder_layers)}+${String(c.decoder_layers)} layers, d_model ${String(c.d_model)}, vocabulary ${String(c.vocab_size)}`;
    } else {
      for (const r of ck.weights.values()) params += r.data.length;
      architecture = `encoder-decoder transformer: ${tc.nLayer}+${tc.nLayer} layers, ${tc.nHead} heads, width ${tc.nEmbd}, vocabulary ${ck.tokenizer.vocabSize}`;
    }
  } catch (e) {
    throw new CliError(`--checkpoint: ${ck.dir}/config.json: ${(e as Error).message}`, exitCodeOf(e));
  }
  const st = ck.trainerState;
  if (ck.hf || !st) {
    const hfLines = [
      `checkpoint: ${ck.dir} (a Hugging Face folder, model_type ${JSON.stringify(ck.hf?.modelType)})`,
      `model: ${architecture}`,
      `parameters: ${params.toLocaleString("en-US")}`,
      `tokenizer: ${ck.tokenizer.type}, ${ck.tokenizer.vocabSize} tokens`,
      `files: ${ck.hf?.files.join(", ")}`,
    ];
    process.stdout.write(`${hfLines.join("\n")}\n`);
    return;
  }
  const lines = [
    `checkpoint: ${ck.dir}`,
    `model: ${architecture}`,
    `parameters: ${params.toLocaleString("en-US")}`,
    `tokenizer: ${ck.tokenizer.type}, ${ck.tokenizer.vocabSize} tokens`,
    `training: iteration ${st.iter} of ${tc.maxIters}, best val loss ${Number.isFinite(st.bestValLoss) ? st.bestValLoss.toFixed(4) : "n/a"}, ${(st.elapsedMs / 1000).toFixed(1)} s of training`,
    `data: ${tc.data === "" ? "bundled Tiny Shakespeare" : tc.data}`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

/** `qkv info`: the compute backend that runs (and why faster ones did not load), and what a checkpoint holds. */
import { BertForMaskedLM, backendInfo, GPT } from "../src/index.js";
import { openCheckpoint } from "./checkpoint.js";
import { chooseBackend } from "./runtime.js";

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
  for (const r of ck.weights.values()) params += r.data.length;
  let architecture = String(tc.model);
  if (tc.model === "gpt") {
    const m = GPT.fromHF(ck.config, ck.weights);
    params = m.numParameters();
    architecture = `GPT-2 architecture: ${m.config.nLayer} layers, ${m.config.nHead} heads, width ${m.config.nEmbd}, context ${m.config.blockSize}, vocabulary ${m.config.vocabSize}, bias ${m.config.bias}`;
  } else if (tc.model === "bert") {
    const m = BertForMaskedLM.fromHF(ck.config, ck.weights);
    params = m.numParameters();
    architecture = `BERT masked-LM: ${m.config.numHiddenLayers} layers, ${m.config.numAttentionHeads} heads, width ${m.config.hiddenSize}, vocabulary ${m.config.vocabSize}`;
  } else if (tc.model === "seq2seq") {
    architecture = `encoder-decoder transformer: ${tc.nLayer}+${tc.nLayer} layers, ${tc.nHead} heads, width ${tc.nEmbd}, vocabulary ${ck.tokenizer.vocabSize}`;
  }
  const st = ck.trainerState;
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

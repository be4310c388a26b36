// Prints the logits qkv computes for a Hugging Face folder (GPT-2 or BERT masked-LM) on the
// given token ids, as JSON; scripts/check_hf_fixtures.py compares them with transformers'.
//   node --import tsx scripts/qkv-logits.ts <folder> '[0,1,2]'
import { BertForMaskedLM, GPT, tensor, withNoGrad } from "../src/index.js";
import { fromPretrained, readJson } from "../src/node.js";

const [folder, idsJson] = process.argv.slice(2);
const ids: number[] = JSON.parse(idsJson);
const config = await readJson<{ architectures?: string[] }>(`${folder}/config.json`, "config");
const x = tensor(Int32Array.from(ids), { shape: [1, ids.length] });
const isBert = (config.architectures ?? [])[0]?.startsWith("Bert");
const logits = await withNoGrad(async () =>
  isBert
    ? (await fromPretrained(BertForMaskedLM, folder)).forward(x).logits
    : (await fromPretrained(GPT, folder)).forward(x).logits,
);
process.stdout.write(JSON.stringify({ shape: logits.shape, data: Array.from(logits.toArray()) }));

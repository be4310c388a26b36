// Fine-tunes a BART folder on a few (source, target) id pairs with AdamW, saves the result as an
// HF folder, and prints as JSON the losses, the fine-tuned model's logits on the pairs and its
// greedy and beam outputs; scripts/check_bart_reload.py opens the folder with transformers and
// compares. Usage: node --import tsx scripts/bart-finetune.ts <bart folder> <out folder> [steps]
import { BartForConditionalGeneration, bartGenerate, optim, tensor, withNoGrad } from "../src/index.js";
import { fromPretrained, savePretrained } from "../src/node.js";

const [src, out, stepsArg] = process.argv.slice(2);
const steps = Number(stepsArg ?? 20);
const pad = (rows: number[][], v: number) => {
  const T = Math.max(...rows.map((r) => r.length));
  return rows.map((r) => [...r, ...Array<number>(T - r.length).fill(v)]);
};
const ids2d = (rows: number[][]) =>
  tensor(Int32Array.from(rows.flat()), { shape: [rows.length, rows[0].length] });
// Pairs: each source's tokens reversed (between <s> and </s>).
const sources = [
  [0, 282, 398, 298, 275, 2],
  [0, 329, 80, 263, 2],
  [0, 261, 354, 82, 309, 362, 2],
  [0, 100, 200, 300, 2],
];
const targets = sources.map((s) => [0, ...s.slice(1, -1).reverse(), 2]);
const inputIds = ids2d(pad(sources, 1));
const attentionMask = ids2d(pad(sources, 1).map((r, i) => r.map((_, j) => (j < sources[i].length ? 1 : 0))));
const labels = ids2d(pad(targets, -100));

const model = await fromPretrained(BartForConditionalGeneration, src);
model.train();
const opt = new optim.AdamW(model.parameters(), { lr: 2e-3, weightDecay: 0.01 });
const losses: number[] = [];
for (let i = 0; i < steps; i++) {
  const loss = model.forward({ inputIds, attentionMask, labels }).loss!;
  losses.push(loss.item());
  loss.backward();
  opt.step();
  opt.zeroGrad();
}
model.eval();
await savePretrained(model, out);
const { logits, loss } = withNoGrad(() => model.forward({ inputIds, attentionMask, labels }));
const greedy = bartGenerate(model, inputIds, { attentionMask, numBeams: 1, maxLength: 12 });
const beam = bartGenerate(model, inputIds, {
  attentionMask,
  numBeams: 3,
  maxLength: 12,
  numReturnSequences: 2,
});
process.stdout.write(
  JSON.stringify({
    input_ids: pad(sources, 1),
    attention_mask: attentionMask.tolist(),
    labels: pad(targets, -100),
    losses,
    loss: loss!.item(),
    logits_shape: logits.shape,
    logits: Array.from(logits.toArray()),
    greedy,
    beam,
  }),
);

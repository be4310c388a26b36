/**
 * Writes the qkv-trained tokenizers used by the Hugging Face parity fixtures. Run by
 * scripts/gen_tokenizer_fixtures.py (after it writes corpus.txt): `npx tsx test/tokenizers/export-fixtures.ts`.
 */

import { writeFileSync } from "node:fs";
import { ByteLevelBPE, CharTokenizer } from "../../src/tokenizers/index.js";
import { FIXTURE_DIR, QKV_BPE_OPTIONS, QKV_CHAR_SPECIALS, readFixture } from "./fixture-config.js";

const corpus = readFixture("corpus.txt");
const bpe = ByteLevelBPE.train(corpus, QKV_BPE_OPTIONS);
writeFileSync(`${FIXTURE_DIR}qkv-bpe.tokenizer.json`, `${JSON.stringify(bpe.toJSON(), null, 1)}\n`);
const char = CharTokenizer.fromText(corpus, { specialTokens: QKV_CHAR_SPECIALS });
writeFileSync(`${FIXTURE_DIR}qkv-char.tokenizer.json`, `${JSON.stringify(char.toJSON(), null, 1)}\n`);
console.log(`wrote qkv-bpe (${bpe.vocabSize} ids) and qkv-char (${char.vocabSize} ids) to ${FIXTURE_DIR}`);

/**
 * Writes qkv's WordPiece tokenizer trained on the fixture corpus to
 * test/fixtures/tokenizers/parity/qkv-wordpiece.tokenizer.json, for
 * scripts/gen_tokenizer_parity.py to encode with HF. Run: npx tsx test/tokenizers/export-wordpiece.ts
 */

import { writeFileSync } from "node:fs";
import { trainWordPiece } from "../../src/tokenizers/index.js";
import { FIXTURE_DIR, QKV_WORDPIECE_OPTIONS, readFixture } from "./fixture-config.js";

const tok = trainWordPiece(readFixture("corpus.txt"), QKV_WORDPIECE_OPTIONS);
writeFileSync(`${FIXTURE_DIR}parity/qkv-wordpiece.tokenizer.json`, JSON.stringify(tok.toJSON()));
console.log(`qkv WordPiece: ${tok.vocabSize} tokens`);

/**
 * Node-only additions to the public API (`import { ... } from "qkv/node"`): file access for
 * safetensors, checkpoints, datasets and Hugging Face model folders
 * (`fromPretrained(GPT, dir)`, `savePretrained(model, dir)`). The main entry point stays
 * free of `node:` imports so it bundles for browsers.
 */
export * from "./io/node-checkpoint.js";
export * from "./io/node-data.js";
export * from "./io/node-fs.js";
export * from "./io/node-pretrained.js";
export * from "./io/node-safetensors.js";

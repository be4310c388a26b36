/** The training loop, its configuration and the per-model tasks. */
export * from "./bart-task.js";
export * from "./classify-task.js";
export * from "./config.js";
export * from "./tasks.js";
export * from "./trainer.js";

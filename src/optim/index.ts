/** torch.optim for qkv: optimizers, learning-rate schedules and gradient clipping. Exported as `optim`. */
export * from "./adam.js";
export * from "./clip.js";
export * from "./lr-scheduler.js";
export {
  Optimizer,
  type OptimizerOptions,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamGroupInput,
  type ParamState,
  type ParamsInput,
  type StateValue,
} from "./optimizer.js";
export * from "./rmsprop.js";
export * from "./sgd.js";

/**
 * The base class of every error qkv raises on purpose: bad input (a file, a field, a flag, a shape)
 * as opposed to a bug. Callers can tell the two apart with `instanceof QkvError`, and the CLI prints
 * a QkvError as one line without a stack trace. `file` and `field` name what was wrong when known.
 *
 * @example
 * try { parseSafetensors(bytes, { name: "m.safetensors" }); }
 * catch (e) { if (e instanceof QkvError) console.error(e.message, e.file); }
 */
export class QkvError extends Error {
  /** The file (or buffer name) the error is about, when there is one. */
  readonly file?: string;
  /** The field, key, flag or tensor name at fault, when there is one. */
  readonly field?: string;
  constructor(message: string, where: { file?: string; field?: string } = {}) {
    super(message);
    this.name = "QkvError";
    if (where.file !== undefined) this.file = where.file;
    if (where.field !== undefined) this.field = where.field;
  }
}

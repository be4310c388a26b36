/**
 * A cache-blocked 2-D transpose of plain typed arrays, for loaders that store a checkpoint's
 * (in, out) matrix as a module's (out, in) weight (GPT-2's Conv1D) in one pass.
 */

type Numeric = Float32Array | Float64Array | Int32Array;

/** Side of the square tiles: 16×16 floats is 1 KiB per tile, so a tile's source and destination stay in L1. */
const TILE = 16;

/**
 * Writes the transpose of `src`, a row-major (rows, cols) matrix, into `dst` as (cols, rows):
 * dst[j·rows + i] = src[i·cols + j]. Tile by tile, so both sides are read and written in short
 * runs instead of one of them striding a whole row apart on every element. `src` and `dst` must
 * not overlap.
 * @example transpose2d(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3, out) // out = [1, 4, 2, 5, 3, 6]
 */
export function transpose2d<A extends Numeric>(src: A, rows: number, cols: number, dst: A): A {
  const n = rows * cols;
  if (src.length < n || dst.length < n)
    throw new Error(
      `transpose2d: (${rows}, ${cols}) needs ${n} elements, got ${src.length} and ${dst.length}`,
    );
  for (let i0 = 0; i0 < rows; i0 += TILE) {
    const i1 = Math.min(rows, i0 + TILE);
    for (let j0 = 0; j0 < cols; j0 += TILE) {
      const j1 = Math.min(cols, j0 + TILE);
      for (let i = i0; i < i1; i++) {
        const s = i * cols;
        for (let j = j0; j < j1; j++) dst[j * rows + i] = src[s + j];
      }
    }
  }
  return dst;
}

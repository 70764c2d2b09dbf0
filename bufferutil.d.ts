/** Masks `source` into `output` at `offset`; bufferutil 4's `mask`. */
export declare function mask(
  source: ArrayBufferView,
  mask: ArrayBufferView,
  output: ArrayBufferView,
  offset: number,
  length: number
): void;

/** Unmasks `buffer` in place; bufferutil 4's `unmask`. */
export declare function unmask(
  buffer: ArrayBufferView,
  mask: ArrayBufferView
): void;

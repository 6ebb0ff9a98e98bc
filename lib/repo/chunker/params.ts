// Chunker parameters and judgement masks (docs/repository-format.md §6.1). validateChunkerParams either
// returns a frozen, fully checked copy or throws ChunkerParamsError naming the field, the rule and the value;
// nothing else in the chunker re-checks. Pure functions and constants, safe in any thread.

export const CHUNKER_ALGORITHM = 'fastcdc-2020';

export type ChunkerParams = { minSize: number; avgSize: number; maxSize: number };

export const DEFAULT_CHUNKER_PARAMS: Readonly<ChunkerParams> = Object.freeze({
  minSize: 512 * 1024,
  avgSize: 1024 * 1024,
  maxSize: 8 * 1024 * 1024,
});

/**
 * Limits (§6.1): 64 <= minSize < avgSize < maxSize <= 64 MiB, avgSize a power of two >= 256. A chunk is held
 * in memory whole (twice, while it is compressed and sealed), hence the cap; avgSize <= 32 MiB follows, so
 * maskS has at most 27 one-bits and both masks fit in bits 30..0.
 */
export const MIN_MIN_SIZE = 64;
export const MIN_AVG_SIZE = 256;
export const MAX_MAX_SIZE = 64 * 1024 * 1024;

export class ChunkerParamsError extends Error {
  name = 'ChunkerParamsError';
}

/**
 * Judgement mask with `ones` one-bits packed at the top of the usable 31 bits: bits 30 down to 31 - ones.
 * Bit 31 is never used, which is what makes the two-bytes-per-step loop (FastCDC 2020) exact.
 */
export function judgementMask(ones: number): number {
  if (!Number.isInteger(ones) || ones < 1 || ones > 30) throw new RangeError(`mask needs 1..30 one-bits, got ${ones}`);
  return (((1 << ones) - 1) << (31 - ones)) >>> 0;
}

/** maskS (bits+2 ones, used below avgSize) and maskL (bits-2 ones, from avgSize on), bits = log2(avgSize). */
export function masksFor(avgSize: number): { maskS: number; maskL: number } {
  const bits = Math.log2(avgSize);
  return { maskS: judgementMask(bits + 2), maskL: judgementMask(bits - 2) };
}

function checkInteger(field: keyof ChunkerParams, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ChunkerParamsError(`chunker ${field} must be a positive integer number of bytes, got ${String(value)}`);
  }
  return value;
}

/** Checks params from any source (config JSON, CLI flags); throws ChunkerParamsError naming the first problem. */
export function validateChunkerParams(params: unknown = DEFAULT_CHUNKER_PARAMS): Readonly<ChunkerParams> {
  if (params === null || typeof params !== 'object') throw new ChunkerParamsError(`chunker params must be an object, got ${String(params)}`);
  const p = params as Partial<Record<keyof ChunkerParams, unknown>>;
  const minSize = checkInteger('minSize', p.minSize);
  const avgSize = checkInteger('avgSize', p.avgSize);
  const maxSize = checkInteger('maxSize', p.maxSize);
  if (minSize < MIN_MIN_SIZE) throw new ChunkerParamsError(`chunker minSize must be at least ${MIN_MIN_SIZE} bytes, got ${minSize}`);
  if (avgSize < MIN_AVG_SIZE || !Number.isInteger(Math.log2(avgSize))) {
    throw new ChunkerParamsError(`chunker avgSize must be a power of two of at least ${MIN_AVG_SIZE} bytes, got ${avgSize}`);
  }
  if (minSize >= avgSize) throw new ChunkerParamsError(`chunker minSize (${minSize}) must be less than avgSize (${avgSize})`);
  if (maxSize <= avgSize) throw new ChunkerParamsError(`chunker maxSize (${maxSize}) must be greater than avgSize (${avgSize})`);
  if (maxSize > MAX_MAX_SIZE) throw new ChunkerParamsError(`chunker maxSize must be at most ${MAX_MAX_SIZE} bytes, got ${maxSize}`);
  return Object.freeze({ minSize, avgSize, maxSize });
}

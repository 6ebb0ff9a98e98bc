// FastCDC (Xia et al. 2020: gear hash, normalized chunking level 2, two bytes per step) exactly as
// docs/repository-format.md §6.1 specifies. Guarantees: the chunks returned by push() then finish(),
// concatenated, are the input; every chunk but a stream's last is within [minSize, maxSize]; the cut points
// depend only on the bytes, the gear table and the params, never on how the input was split into pushes.
// Memory: push() keeps references to (not copies of) the pushed buffers until the chunk they belong to is
// complete, so at most maxSize bytes plus one piece are pending; each chunk is copied once into its own
// Buffer. Callers MUST NOT modify a buffer after pushing it. Errors: constructor throws ChunkerParamsError /
// TypeError on bad params or gear table. A Chunker is single-stream state, synchronous and CPU-bound:
// one per stream; run it in a worker thread to keep an event loop free.
import { assertGearTable, type GearTable } from './gear';
import { DEFAULT_CHUNKER_PARAMS, masksFor, validateChunkerParams, type ChunkerParams } from './params';

// Hash left in flight by scan() when it returns -1 (no cut in range). Chunking is synchronous, so a
// module-level slot is safe and keeps scan() returning a plain small integer.
let carry = 0;

/**
 * The hot loop. Continues hash `h` over buf[i..end) and returns the index of the first byte after which
 * (h & mask) == 0, or -1 (the hash is then left in `carry`). Two bytes per step as in FastCDC 2020:
 * after the first byte of a pair the register holds 2·h (gearLs[b] = gear[b] << 1), tested against
 * mask << 1; exact because masks never use bit 31. Unrolled to two pairs per iteration.
 */
function scan(buf: Uint8Array, i: number, end: number, h: number, mask: number, gear: Int32Array, gearLs: Int32Array): number {
  const maskLs = mask << 1;
  const end4 = end - 3;
  for (; i < end4; i += 4) {
    h = ((h << 2) + gearLs[buf[i]!]!) | 0;
    if ((h & maskLs) === 0) return i;
    h = (h + gear[buf[i + 1]!]!) | 0;
    if ((h & mask) === 0) return i + 1;
    h = ((h << 2) + gearLs[buf[i + 2]!]!) | 0;
    if ((h & maskLs) === 0) return i + 2;
    h = (h + gear[buf[i + 3]!]!) | 0;
    if ((h & mask) === 0) return i + 3;
  }
  for (; i < end; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & mask) === 0) return i;
  }
  carry = h;
  return -1;
}

export class Chunker {
  readonly params: Readonly<ChunkerParams>;
  private readonly gear: Int32Array;
  private readonly gearLs: Int32Array;
  private readonly maskS: number;
  private readonly maskL: number;
  private pending: Uint8Array[] = [];
  /** Bytes of the current chunk seen so far (all in `pending`). */
  private len = 0;
  /** Rolling hash of the current chunk (0 until byte minSize-1 is reached). */
  private h = 0;

  constructor(gear: GearTable, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS) {
    assertGearTable(gear);
    this.params = validateChunkerParams(params);
    this.gear = Int32Array.from(gear);
    this.gearLs = this.gear.map((g) => g << 1);
    const { maskS, maskL } = masksFor(this.params.avgSize);
    this.maskS = maskS | 0;
    this.maskL = maskL | 0;
  }

  /** Feeds the next piece of the stream; returns the chunks it completed (often none), in order. */
  push(data: Uint8Array): Buffer[] {
    const out: Buffer[] = [];
    let pos = 0;
    while (pos < data.length) {
      const cut = this.findCut(data, pos);
      if (cut < 0) {
        this.pending.push(pos === 0 ? data : data.subarray(pos));
        this.len += data.length - pos;
        break;
      }
      out.push(this.take(data, pos, cut + 1));
      pos = cut + 1;
    }
    return out;
  }

  /** Ends the stream: returns the last (possibly short) chunk, or null if nothing is pending. Resets for reuse. */
  finish(): Buffer | null {
    if (this.len === 0) return null;
    return this.take(new Uint8Array(0), 0, 0);
  }

  /**
   * Index in `data` of the last byte of the current chunk, or -1 if the chunk goes on past `data`.
   * data[pos] is byte number `len` of the chunk; with base = pos - len, byte o of the chunk is data[base + o].
   * Candidate length L hashes byte L-1 and tests maskS while L < avgSize, maskL after; byte maxSize-1 always
   * ends a chunk. One scan() call site on purpose: V8 inlines it, and two inlined copies measured ~15% slower.
   */
  private findCut(data: Uint8Array, pos: number): number {
    const { minSize, avgSize, maxSize } = this.params;
    const end = data.length;
    const base = pos - this.len;
    const normalEnd = base + avgSize - 1;
    const forced = base + maxSize - 1;
    let i = Math.max(pos, base + minSize - 1);
    let h = this.h;
    for (;;) {
      const normal = i < normalEnd;
      const stop = Math.min(end, normal ? normalEnd : forced);
      if (i >= stop) break;
      const cut = scan(data, i, stop, h, normal ? this.maskS : this.maskL, this.gear, this.gearLs);
      if (cut >= 0) return cut;
      h = carry;
      i = stop;
    }
    if (forced < end) return forced;
    this.h = h;
    return -1;
  }

  /** Copies pending + data[from, to) into one new Buffer and starts the next chunk. */
  private take(data: Uint8Array, from: number, to: number): Buffer {
    const chunk = Buffer.allocUnsafe(this.len + (to - from));
    let off = 0;
    for (const piece of this.pending) {
      chunk.set(piece, off);
      off += piece.length;
    }
    chunk.set(data.subarray(from, to), off);
    this.pending = [];
    this.len = 0;
    this.h = 0;
    return chunk;
  }
}

/** Splits one in-memory buffer (convenience for small inputs and tests). */
export function chunkBuffer(data: Uint8Array, gear: GearTable, params: ChunkerParams = DEFAULT_CHUNKER_PARAMS): Buffer[] {
  const chunker = new Chunker(gear, params);
  const chunks = chunker.push(data);
  const last = chunker.finish();
  if (last) chunks.push(last);
  return chunks;
}

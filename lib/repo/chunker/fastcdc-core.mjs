// The FastCDC engine (docs/repository-format.md §6.1: gear hash, normalized chunking level 2, two bytes per
// step) in plain JavaScript importing nothing, so the chunk worker thread (chunk-worker.mjs) loads it with
// no TypeScript loader. It trusts its inputs: fastcdc.ts's Chunker validates the params and the gear table
// and is what everything else uses. Guarantees: the chunks returned by push() then finish(), concatenated,
// are the input; every chunk but a stream's last is within [minSize, maxSize]; the cut points depend only
// on the bytes, the gear table and the params, never on how the input was split into pushes.
// Memory: push() keeps references to (not copies of) the pushed buffers until the chunk they belong to is
// complete (pendingPieces lists them), so at most maxSize bytes plus one piece are pending; each chunk is
// copied once into a buffer from `alloc`. Callers MUST NOT modify a buffer while it is pending.

// Hash left in flight by scan() when it returns -1 (no cut in range). Chunking is synchronous, so a
// module-level slot is safe and keeps scan() returning a plain small integer.
let carry = 0;

/**
 * The hot loop. Continues hash `h` over buf[i..end) and returns the index of the first byte after which
 * (h & mask) == 0, or -1 (the hash is then left in `carry`). Two bytes per step as in FastCDC 2020:
 * after the first byte of a pair the register holds 2·h (gearLs[b] = gear[b] << 1), tested against
 * mask << 1; exact because masks never use bit 31. Unrolled to two pairs per iteration.
 * @param {Uint8Array} buf @param {number} i @param {number} end @param {number} h @param {number} mask
 * @param {Int32Array} gear @param {Int32Array} gearLs
 * @returns {number}
 */
function scan(buf, i, end, h, mask, gear, gearLs) {
  const maskLs = mask << 1;
  const end4 = end - 3;
  for (; i < end4; i += 4) {
    h = ((h << 2) + gearLs[buf[i]]) | 0;
    if ((h & maskLs) === 0) return i;
    h = (h + gear[buf[i + 1]]) | 0;
    if ((h & mask) === 0) return i + 1;
    h = ((h << 2) + gearLs[buf[i + 2]]) | 0;
    if ((h & maskLs) === 0) return i + 2;
    h = (h + gear[buf[i + 3]]) | 0;
    if ((h & mask) === 0) return i + 3;
  }
  for (; i < end; i++) {
    h = ((h << 1) + gear[buf[i]]) | 0;
    if ((h & mask) === 0) return i;
  }
  carry = h;
  return -1;
}

export class ChunkCutter {
  /**
   * @param {Int32Array} gear 256 entries, owned by the cutter
   * @param {Readonly<{ minSize: number, avgSize: number, maxSize: number }>} params already validated
   * @param {number} maskS judgement mask below avgSize
   * @param {number} maskL judgement mask from avgSize on
   * @param {(size: number) => Buffer} [alloc] where chunks are copied to (default Buffer.allocUnsafe)
   */
  constructor(gear, params, maskS, maskL, alloc = Buffer.allocUnsafe) {
    this.params = params;
    this.gear = gear;
    this.gearLs = gear.map((g) => g << 1);
    this.maskS = maskS | 0;
    this.maskL = maskL | 0;
    this.alloc = alloc;
    /** @type {Uint8Array[]} */
    this.pending = [];
    /** Bytes of the current chunk seen so far (all in `pending`). */
    this.len = 0;
    /** Rolling hash of the current chunk (0 until byte minSize-1 is reached). */
    this.h = 0;
  }

  /** The pushed buffers the current chunk still refers to (what must not be modified or reused yet). */
  get pendingPieces() {
    return this.pending;
  }

  /**
   * Feeds the next piece of the stream; returns the chunks it completed (often none), in order.
   * @param {Uint8Array} data
   * @returns {Buffer[]}
   */
  push(data) {
    /** @type {Buffer[]} */
    const out = [];
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

  /**
   * Ends the stream: returns the last (possibly short) chunk, or null if nothing is pending. Resets for reuse.
   * @returns {Buffer | null}
   */
  finish() {
    if (this.len === 0) return null;
    return this.take(new Uint8Array(0), 0, 0);
  }

  /**
   * Index in `data` of the last byte of the current chunk, or -1 if the chunk goes on past `data`.
   * data[pos] is byte number `len` of the chunk; with base = pos - len, byte o of the chunk is data[base + o].
   * Candidate length L hashes byte L-1 and tests maskS while L < avgSize, maskL after; byte maxSize-1 always
   * ends a chunk. One scan() call site on purpose: V8 inlines it, and two inlined copies measured ~15% slower.
   * @param {Uint8Array} data @param {number} pos
   * @returns {number}
   */
  findCut(data, pos) {
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

  /**
   * Copies pending + data[from, to) into one new Buffer and starts the next chunk.
   * @param {Uint8Array} data @param {number} from @param {number} to
   * @returns {Buffer}
   */
  take(data, from, to) {
    const chunk = this.alloc(this.len + (to - from));
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

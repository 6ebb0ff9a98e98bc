// FastCDC (docs/repository-format.md §6.1) with the gear loop in WebAssembly (gear-scan.wat): about three
// times the speed of the same loop in JavaScript (2.3-3.0 GB/s here). It trusts its inputs: fastcdc.ts's
// Chunker validates them and is what TypeScript code uses; the chunk worker thread loads this file as is.
// gear-scan.test.ts and spec.test.ts check the cut points against a literal reading of the spec.
// How: the bytes of the chunk being cut stay in the module's memory, contiguous; push() appends a piece
// after them (one copy), scans, and copies each finished chunk out into a buffer from `alloc`. The pushed
// piece is not referenced after push() returns.
// Memory: a window of 2 * maxSize + the largest piece pushed; the unfinished chunk (< maxSize) moves to the
// window's start when a piece would not fit after it.
import { readFileSync, readSync } from 'node:fs';

const TABLE = 0;
const TABLE_SHIFTED = 1024;
/** Where the window starts in the module's memory (gear-scan.wat's load offset). */
const DATA = 4096;
const PAGE = 65536;

/** @type {WebAssembly.Module | undefined} */
let compiled;

export class WasmChunkCutter {
  /**
   * @param {Int32Array} gear 256 entries
   * @param {Readonly<{ minSize: number, avgSize: number, maxSize: number }>} params already validated
   * @param {number} maskS judgement mask below avgSize
   * @param {number} maskL judgement mask from avgSize on
   * @param {(size: number) => Buffer} [alloc] where chunks are copied to (default Buffer.allocUnsafe)
   */
  constructor(gear, params, maskS, maskL, alloc = Buffer.allocUnsafe) {
    compiled ??= new WebAssembly.Module(readFileSync(new URL('./gear-scan.wasm', import.meta.url)));
    const { exports } = new WebAssembly.Instance(compiled, {});
    /** @type {WebAssembly.Memory} */
    this.memory = /** @type {any} */ (exports.memory);
    /** @type {(i: number, end: number, h: number, mask: number) => number} */
    this.scan = /** @type {any} */ (exports.scan);
    /** @type {WebAssembly.Global} */
    this.carry = /** @type {any} */ (exports.carry);
    this.params = params;
    this.maskS = maskS | 0;
    this.maskL = maskL | 0;
    this.alloc = alloc;
    /** The window: bytes from DATA on. */
    this.capacity = 0;
    this.bytes = new Uint8Array(0);
    this.grow(2 * params.maxSize);
    new Int32Array(this.memory.buffer, TABLE, 256).set(gear);
    new Int32Array(this.memory.buffer, TABLE_SHIFTED, 256).set(gear.map((g) => g << 1));
    /** The current chunk is window[start, end). */
    this.start = 0;
    this.end = 0;
    /** Rolling hash of the current chunk (0 until byte minSize-1 is reached). */
    this.h = 0;
  }

  /**
   * Feeds the next piece of the stream; returns the chunks it completed (often none), in order.
   * @param {Uint8Array} data
   * @returns {Buffer[]}
   */
  push(data) {
    this.makeRoom(data.length);
    this.bytes.set(data, this.end);
    return this.cutFrom(this.end, data.length);
  }

  /**
   * Reads up to `max` bytes of an open file (from its current position) straight into the window and cuts
   * them: no piece buffer in between. `read` is 0 at the end of the file.
   * @param {number} fd
   * @param {number} max
   * @returns {{ read: number, chunks: Buffer[] }}
   */
  pushFromFile(fd, max) {
    this.makeRoom(max);
    const read = readSync(fd, this.bytes, this.end, max, null);
    return { read, chunks: this.cutFrom(this.end, read) };
  }

  /** @param {number} length */
  makeRoom(length) {
    if (this.end + length <= this.capacity) return;
    this.bytes.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
    if (this.end + length > this.capacity) this.grow(this.end + length + this.params.maxSize);
  }

  /**
   * Cuts after `length` new bytes were put in the window at `pos` (= the old end).
   * @param {number} pos @param {number} length
   * @returns {Buffer[]}
   */
  cutFrom(pos, length) {
    this.end += length;
    /** @type {Buffer[]} */
    const out = [];
    while (pos < this.end) {
      const cut = this.findCut(pos);
      if (cut < 0) break;
      out.push(this.take(cut + 1));
      pos = cut + 1;
    }
    return out;
  }

  /**
   * Ends the stream: returns the last (possibly short) chunk, or null if nothing is pending. Resets for reuse.
   * @returns {Buffer | null}
   */
  finish() {
    const last = this.end > this.start ? this.take(this.end) : null;
    this.start = this.end = 0;
    return last;
  }

  /**
   * Window position of the last byte of the current chunk, or -1 if the chunk goes on past the window's
   * bytes. With base = start, byte o of the chunk is at base + o. Candidate length L hashes byte L-1 and
   * tests maskS while L < avgSize, maskL after; byte maxSize-1 always ends a chunk.
   * @param {number} pos first byte not scanned yet
   * @returns {number}
   */
  findCut(pos) {
    const { minSize, avgSize, maxSize } = this.params;
    const end = this.end;
    const base = this.start;
    const normalEnd = base + avgSize - 1;
    const forced = base + maxSize - 1;
    let i = Math.max(pos, base + minSize - 1);
    let h = this.h;
    for (;;) {
      const normal = i < normalEnd;
      const stop = Math.min(end, normal ? normalEnd : forced);
      if (i >= stop) break;
      const cut = this.scan(i, stop, h, normal ? this.maskS : this.maskL);
      if (cut >= 0) return cut;
      h = this.carry.value;
      i = stop;
    }
    if (forced < end) return forced;
    this.h = h;
    return -1;
  }

  /**
   * Copies window[start, to) out as the next chunk and starts a new one at `to`.
   * @param {number} to
   * @returns {Buffer}
   */
  take(to) {
    const chunk = this.alloc(to - this.start);
    chunk.set(this.bytes.subarray(this.start, to));
    this.start = to;
    this.h = 0;
    return chunk;
  }

  /** @param {number} capacity */
  grow(capacity) {
    const pages = Math.ceil((DATA + capacity) / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) this.memory.grow(pages);
    this.capacity = this.memory.buffer.byteLength - DATA;
    this.bytes = new Uint8Array(this.memory.buffer, DATA, this.capacity);
  }
}

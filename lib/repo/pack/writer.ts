// PackWriter (docs/repository-format.md §7): accumulates sealed blobs in memory and turns them into one
// pack file. The writer never seals or deduplicates blobs itself (see blob.ts and the content store); it
// keeps the blobs in one buffer sized for the target (grown only for an oversized last blob): add() copies
// a sealed blob in, addWith() lets the caller seal straight into the buffer (no copy). It hashes the bytes
// as they come, and on finish() appends the sealed header and its uint32 LE length in place, so finishing
// a 16 MiB pack neither copies nor hashes it again.
// Guarantees: offsets in `entries` are exact byte positions in `bytes`; `id` is SHA-256 of `bytes`.
// Errors: RangeError for a blob whose lengths do not fit the header's uint32 fields, Error for use after
// finish() or finishing an empty pack (§7: writers MUST NOT write empty packs).
// Concurrency: synchronous and single-owner; one writer per open pack.
import { createHash, type Hash } from 'node:crypto';
import { encodePayload } from '../compress';
import type { MasterKey } from '../crypto/master-key';
import { AAD, seal } from '../crypto/sealed-box';
import { encodeHeaderEntries, HEADER_LENGTH_SIZE, MAX_UINT32, type BlobType, type PackEntry } from './format';

export const DEFAULT_PACK_TARGET_SIZE = 16 * 1024 * 1024;

export interface FinishedPack {
  /** The whole pack file (a view of `buffer`). */
  bytes: Buffer;
  /** The writer's whole buffer: once `bytes` is no longer used, it can be handed to a new writer. */
  buffer: Buffer;
  /** SHA-256 of bytes, lowercase hex: the pack id (§1). */
  id: string;
  /** The blobs in pack order. */
  entries: PackEntry[];
}

export interface PackWriterOptions {
  /** The pack counts as full once its blobs take at least this many bytes (default 16 MiB). */
  targetSize?: number;
  /**
   * A buffer to build the pack in (a finished pack's `buffer` whose bytes are no longer used); ignored when
   * smaller than the writer's initial capacity. The writer owns it from then on.
   */
  buffer?: Buffer;
}

export class PackWriter {
  readonly targetSize: number;
  readonly entries: PackEntry[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private readonly initialCapacity: number;
  private reused: Buffer | undefined;
  private readonly hash: Hash = createHash('sha256');
  private bytes = 0;
  private finished = false;

  constructor(private readonly key: MasterKey, opts: PackWriterOptions = {}) {
    this.targetSize = opts.targetSize ?? DEFAULT_PACK_TARGET_SIZE;
    if (!Number.isSafeInteger(this.targetSize) || this.targetSize < 1) {
      throw new RangeError(`pack target size must be a positive integer, got ${this.targetSize}`);
    }
    // Room for the target, one more typical blob (1 MiB chunks) and a header; allocated on the first add.
    this.initialCapacity = this.targetSize + Math.min(this.targetSize, 1024 * 1024) + 64 * 1024;
    if (opts.buffer && opts.buffer.length >= this.initialCapacity) this.reused = opts.buffer;
  }

  /** Bytes of sealed blobs added so far (the header is not counted). */
  get size(): number {
    return this.bytes;
  }

  get count(): number {
    return this.entries.length;
  }

  get isFull(): boolean {
    return this.bytes >= this.targetSize;
  }

  /** Appends a sealed blob; returns its slot (index in `entries`). */
  add(type: BlobType, id: string, sealed: Buffer, rawLength: number): number {
    return this.addWith(type, id, rawLength, sealed.length, (dest) => sealed.copy(dest));
  }

  /**
   * Appends a blob that `write` seals straight into the pack buffer: `write` gets a view of at least
   * `maxLength` bytes and returns how many it wrote (the stored length). Returns the blob's slot. Nothing is
   * added when `write` throws.
   */
  addWith(type: BlobType, id: string, rawLength: number, maxLength: number, write: (dest: Buffer) => number): number {
    if (this.finished) throw new Error('PackWriter: add after finish');
    if (maxLength > MAX_UINT32 || rawLength > MAX_UINT32) {
      throw new RangeError(`blob ${id}: ${Math.max(maxLength, rawLength)} bytes do not fit a pack entry (max ${MAX_UINT32})`);
    }
    this.reserve(maxLength);
    const length = write(this.buf.subarray(this.bytes, this.bytes + maxLength));
    if (!Number.isSafeInteger(length) || length < 0 || length > maxLength) {
      throw new RangeError(`blob ${id}: the writer reported ${length} bytes written, expected 0..${maxLength}`);
    }
    this.entries.push({ id, type, offset: this.bytes, length, rawLength });
    this.hash.update(this.buf.subarray(this.bytes, this.bytes + length));
    this.bytes += length;
    return this.entries.length - 1;
  }

  /** The sealed bytes of the blob in `slot` (a view, valid while the writer is open). */
  sealedAt(slot: number): Buffer {
    const e = this.entries[slot];
    if (!e || this.finished) throw new RangeError(`PackWriter: no blob in slot ${slot}`);
    return this.buf.subarray(e.offset, e.offset + e.length);
  }

  /** Seals the header and returns the complete pack. The writer cannot be used afterwards. */
  finish(): FinishedPack {
    if (this.finished) throw new Error('PackWriter: finish called twice');
    if (this.entries.length === 0) throw new Error('PackWriter: cannot finish an empty pack');
    this.finished = true;
    const header = seal(this.key.encKey, encodePayload(encodeHeaderEntries(this.entries)), AAD.packHeader);
    const length = Buffer.alloc(HEADER_LENGTH_SIZE);
    length.writeUInt32LE(header.length);
    this.hash.update(header).update(length);
    this.append(header);
    this.append(length);
    const buffer = this.buf;
    this.buf = Buffer.alloc(0);
    return { bytes: buffer.subarray(0, this.bytes), buffer, id: this.hash.digest('hex'), entries: this.entries };
  }

  private append(data: Buffer): void {
    this.reserve(data.length);
    data.copy(this.buf, this.bytes);
    this.bytes += data.length;
  }

  /** Makes room for `n` more bytes. */
  private reserve(n: number): void {
    const end = this.bytes + n;
    if (end > this.buf.length) {
      const reused = this.reused;
      this.reused = undefined;
      if (this.buf.length === 0 && reused && reused.length >= end) {
        this.buf = reused;
        return;
      }
      const capacity = this.buf.length === 0 ? this.initialCapacity : Math.floor(this.buf.length * 1.5);
      const grown = Buffer.allocUnsafe(Math.max(end, capacity));
      this.buf.copy(grown, 0, 0, this.bytes);
      this.buf = grown;
    }
  }
}

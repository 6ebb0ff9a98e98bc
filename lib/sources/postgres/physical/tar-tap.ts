// A pass-through that reads a tar stream's headers as the bytes go by and keeps the content of a few named
// members (pg_basebackup's backup_label and backup_manifest), so the base backup is described from the
// very bytes stored, without a second read. Bytes leave unchanged; memory is bounded by `maxMemberBytes`.
// Understands ustar/GNU/pax headers: each header gives its payload size (octal, or GNU base-256), padded to
// 512 bytes; pax extended headers and GNU long names only add payloads, which are skipped like any other.
import { Transform, type TransformCallback } from 'node:stream';
import { isEndBlock, parseHeader, TAR_BLOCK as BLOCK } from './tar-header';

export class TarTap extends Transform {
  readonly members = new Map<string, Buffer>();
  /** Number of member headers seen (files, directories, links). */
  entries = 0;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  /** Payload bytes left in the current member, then padding bytes to skip. */
  private payloadLeft = 0;
  private paddingLeft = 0;
  private collecting: { name: string; parts: Buffer[] } | null = null;

  constructor(
    private readonly wanted: ReadonlySet<string>,
    private readonly maxMemberBytes = 64 * 1024 * 1024,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.inspect(chunk);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }

  private inspect(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - off);
        this.collecting?.parts.push(Buffer.from(chunk.subarray(off, off + n)));
        this.payloadLeft -= n;
        off += n;
        if (this.payloadLeft === 0 && this.collecting) {
          this.members.set(this.collecting.name, Buffer.concat(this.collecting.parts));
          this.collecting = null;
        }
        continue;
      }
      if (this.paddingLeft > 0) {
        const n = Math.min(this.paddingLeft, chunk.length - off);
        this.paddingLeft -= n;
        off += n;
        continue;
      }
      const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
      chunk.copy(this.header, this.headerFill, off, off + n);
      this.headerFill += n;
      off += n;
      if (this.headerFill === BLOCK) {
        this.headerFill = 0;
        this.onHeader();
      }
    }
  }

  private onHeader(): void {
    const h = this.header;
    if (isEndBlock(h)) return;
    const { size, type, name } = parseHeader(h);
    if (type !== 'x' && type !== 'g' && type !== 'L' && type !== 'K') this.entries++;
    this.payloadLeft = size;
    this.paddingLeft = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((type === '0' || type === '\0') && this.wanted.has(name)) {
      if (size > this.maxMemberBytes) throw new Error(`tar member ${name} is ${size} bytes, more than the ${this.maxMemberBytes} this reader keeps`);
      this.collecting = { name, parts: [] };
      if (size === 0) {
        this.members.set(name, Buffer.alloc(0));
        this.collecting = null;
      }
    }
  }
}

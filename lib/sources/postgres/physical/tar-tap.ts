// A pass-through that reads a tar stream's headers as the bytes go by and keeps the content of a few named
// members (pg_basebackup's backup_label and backup_manifest), so the base backup is described from the
// very bytes stored, without a second read. Bytes leave unchanged; memory is bounded by `maxMemberBytes`.
// Understands ustar/GNU/pax headers: each header gives its payload size (octal, or GNU base-256), padded to
// 512 bytes; pax extended headers and GNU long names only add payloads, which are skipped like any other.
import { Transform, type TransformCallback } from 'node:stream';
import { TarWalker, type TarHeader } from './tar-header';

export class TarTap extends Transform {
  readonly members = new Map<string, Buffer>();
  /** Number of member headers seen (files, directories, links). */
  entries = 0;
  private collecting: { name: string; size: number; got: number; parts: Buffer[] } | null = null;
  private readonly walker = new TarWalker({
    header: (_h, member) => this.onHeader(member),
    body: (piece, padding) => {
      const c = this.collecting;
      if (padding || !c) return;
      c.parts.push(Buffer.from(piece));
      c.got += piece.length;
      if (c.got === c.size) {
        this.members.set(c.name, Buffer.concat(c.parts));
        this.collecting = null;
      }
    },
  });

  constructor(
    private readonly wanted: ReadonlySet<string>,
    private readonly maxMemberBytes = 64 * 1024 * 1024,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.walker.feed(chunk);
    } catch (err) {
      return done(err as Error);
    }
    done(null, chunk);
  }

  private onHeader({ size, type, name }: TarHeader): void {
    if (type !== 'x' && type !== 'g' && type !== 'L' && type !== 'K') this.entries++;
    if ((type === '0' || type === '\0') && this.wanted.has(name)) {
      if (size > this.maxMemberBytes) throw new Error(`tar member ${name} is ${size} bytes, more than the ${this.maxMemberBytes} this reader keeps`);
      if (size === 0) this.members.set(name, Buffer.alloc(0));
      else this.collecting = { name, size, got: 0, parts: [] };
    }
  }
}

// One 512-byte tar header block, as pg_basebackup writes them (ustar; PostgreSQL's own writer, src/port/tar.c)
// and as GNU tar reads them: name (with the ustar prefix), mode, mtime, size (octal, or GNU base-256),
// type flag and link target. Shared by TarTap (reads headers as a backup streams past) and the base backup
// extractor (tar-extract.ts).

export const TAR_BLOCK = 512;

export type TarHeader = {
  name: string;
  /** '0' (or '\0') file, '5' directory, '2' symlink, '1' hard link; 'x', 'g', 'L', 'K' only add payloads. */
  type: string;
  size: number;
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkName: string;
};

export class TarFormatError extends Error {
  name = 'TarFormatError';
}

/** True for the all-zero blocks that end an archive. */
export function isEndBlock(h: Uint8Array): boolean {
  for (let i = 0; i < TAR_BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** Parses a header block; `checked` also verifies the header's own checksum (a damaged header is an error, not a guess). */
export function parseHeader(h: Buffer, checked = false): TarHeader {
  if (checked) {
    const stored = readOctal(h.subarray(148, 156), 'checksum');
    let sum = 0;
    for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
    if (sum !== stored) throw new TarFormatError(`damaged tar header (checksum ${stored}, computed ${sum}) after member "${field(h, 0, 100)}"`);
  }
  return {
    name: memberName(h),
    type: String.fromCharCode(h[156]!),
    size: readSize(h.subarray(124, 136)),
    mode: readOctal(h.subarray(100, 108), 'mode'),
    mtime: readSize(h.subarray(136, 148)),
    linkName: field(h, 157, 100),
  };
}

/** Payload bytes plus padding to the next block. */
export const paddedSize = (size: number) => Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? len : end).toString('utf8');
}

function memberName(h: Buffer): string {
  const name = field(h, 0, 100);
  const prefix = h.subarray(257, 262).toString('latin1') === 'ustar' ? field(h, 345, 155) : '';
  return (prefix ? `${prefix}/${name}` : name).replace(/^\.\//, '');
}

function readOctal(f: Buffer, what: string): number {
  const text = f.toString('latin1').replace(/[\0 ]+$/g, '').trim();
  if (!/^[0-7]*$/.test(text)) throw new TarFormatError(`not a tar stream: bad ${what} field "${text}"`);
  return text ? parseInt(text, 8) : 0;
}

function readSize(f: Buffer): number {
  if (f[0]! & 0x80) {
    // GNU base-256: big-endian, high bit of the first byte is the marker.
    let v = 0;
    for (let i = 1; i < f.length; i++) v = v * 256 + f[i]!;
    return v;
  }
  return readOctal(f, 'size');
}

/** A new ustar header (owner 0) for a member of `type` '0' (file) or '5' (directory). */
export function newHeader(m: { name: string; type: '0' | '5'; size: number; mode: number; mtime: number }): Buffer {
  const h = Buffer.alloc(TAR_BLOCK);
  const octal = (value: number, width: number) => value.toString(8).padStart(width - 1, '0') + '\0';
  h.write(octal(m.mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(m.size, 12), 124, 'ascii');
  h.write(octal(m.mtime, 12), 136, 'ascii');
  h.write(m.type, 156, 'ascii');
  h.write('ustar\0' + '00', 257, 'ascii');
  return renamedHeader(h, m.name);
}

/**
 * A copy of ustar header `h` naming `name`: in the name field when it fits (100 bytes), else split at a '/'
 * between the prefix (155) and name fields; the checksum recomputed.
 */
export function renamedHeader(h: Buffer, name: string): Buffer {
  const out = Buffer.from(h);
  const bytes = Buffer.from(name, 'utf8');
  let prefix = Buffer.alloc(0);
  let rest = bytes;
  if (bytes.length > 100) {
    const cut = bytes.lastIndexOf(0x2f, 155);
    if (cut <= 0 || bytes.length - cut - 1 > 100) throw new TarFormatError(`the tar member name "${name}" is too long for a ustar header`);
    prefix = bytes.subarray(0, cut);
    rest = bytes.subarray(cut + 1);
  }
  out.fill(0, 0, 100);
  rest.copy(out, 0);
  out.fill(0, 345, 500);
  prefix.copy(out, 345);
  out.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += out[i]!;
  out.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return out;
}

/**
 * Walks a tar stream fed in pieces of any size: gathers each 512-byte header block and hands it whole to
 * `header`, which returns nothing or 'drop' (the member's payload is then not passed on); passes the
 * members' payload bytes, then their padding, to `body`. Stops at the first end-of-archive block
 * (`ended`); feed() then takes nothing more. Used by TarTap and the replication stream.
 */
export class TarWalker {
  ended = false;
  private readonly header = Buffer.alloc(TAR_BLOCK);
  private headerFill = 0;
  private payloadLeft = 0;
  private paddingLeft = 0;
  private dropping = false;

  constructor(
    private readonly on: {
      header(h: Buffer, member: TarHeader): 'drop' | void;
      body(piece: Buffer, padding: boolean): void;
    },
  ) {}

  feed(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length && !this.ended) {
      const left = this.payloadLeft || this.paddingLeft;
      if (left > 0) {
        const n = Math.min(left, chunk.length - off);
        const padding = this.payloadLeft === 0;
        if (!this.dropping) this.on.body(chunk.subarray(off, off + n), padding);
        if (padding) this.paddingLeft -= n;
        else this.payloadLeft -= n;
        off += n;
        continue;
      }
      const n = Math.min(TAR_BLOCK - this.headerFill, chunk.length - off);
      chunk.copy(this.header, this.headerFill, off, off + n);
      this.headerFill += n;
      off += n;
      if (this.headerFill < TAR_BLOCK) break;
      this.headerFill = 0;
      if (isEndBlock(this.header)) {
        this.ended = true;
        break;
      }
      const member = parseHeader(this.header);
      this.payloadLeft = member.size;
      this.paddingLeft = paddedSize(member.size) - member.size;
      this.dropping = this.on.header(this.header, member) === 'drop';
    }
  }
}

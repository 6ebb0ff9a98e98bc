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

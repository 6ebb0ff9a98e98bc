// The base backup extractor against GNU tar: the same tree (names, modes, mtimes, symlinks, empty files),
// CRC-32Cs of what was written, every lent buffer given back; refusals for names that would escape the data
// directory, unknown member types, damaged headers and truncated streams. And the manifest check against
// manifests written the way PostgreSQL writes them (its own SHA-256 over the text before Manifest-Checksum).
import { crc32c } from '@node-rs/crc32';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readlink, rm, symlink, utimes, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HeldBuffer } from '../streams';
import { Readable } from 'node:stream';
import { LocalBlobStore } from '../../../blob';
import { Repository } from '../../../repo/repository';
import { dumpDirTree, rootTree } from '../format';
import { storeStream } from '../streams';
import { checkBaseBackupContent } from './content-check';
import type { PhysicalMeta } from './format';
import { checkAgainstManifest, ManifestMismatchError } from './manifest-check';
import { extractTar } from './tar-extract';
import { newHeader, parseHeader, renamedHeader, TarFormatError } from './tar-header';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-tar-extract-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `bytes` lent in pieces of the given sizes (cycled); counts what was given back. */
function lend(bytes: Buffer, sizes: number[]) {
  const state = { lent: 0, released: 0 };
  async function* gen(): AsyncGenerator<HeldBuffer> {
    let i = 0;
    for (let off = 0; off < bytes.length; i++) {
      const n = sizes[i % sizes.length]!;
      const data = Buffer.from(bytes.subarray(off, off + n)); // its own memory, as a worker's job buffer
      off += n;
      state.lent++;
      let done = false;
      yield { data, release: () => void (done || ((done = true), state.released++)) };
    }
  }
  return { source: gen(), state };
}

/** A ustar header as pg_basebackup writes one (name, mode, size, mtime, type, link), with its checksum. */
function header(name: string, opts: { type?: string; size?: number; mode?: number; link?: string } = {}): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(`${(opts.mode ?? 0o600).toString(8).padStart(7, '0')}\0`, 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${(opts.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write(`${Math.floor(Date.now() / 1000).toString(8).padStart(11, '0')}\0`, 136, 'latin1');
  h.write(opts.type ?? '0', 156, 'latin1');
  if (opts.link) h.write(opts.link, 157, 100, 'utf8');
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(32, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}
const padded = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
const archive = (...parts: Buffer[]) => Buffer.concat([...parts, Buffer.alloc(1024)]);

describe('extractTar (base backup unpacking)', () => {
  it('unpacks what GNU tar packed exactly as tar -x does, with each file\'s CRC-32C, lending nothing for good', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'base', '5'), { recursive: true });
    await mkdir(join(src, 'pg_wal'), { mode: 0o700 });
    const big = Buffer.from(Array.from({ length: 3_000_001 }, (_, i) => (i * 31) % 251));
    await writeFile(join(src, 'base', '5', '16384'), big);
    await writeFile(join(src, 'PG_VERSION'), '15\n');
    await writeFile(join(src, 'empty'), '');
    await writeFile(join(src, 'backup_manifest'), '{"PostgreSQL-Backup-Manifest-Version": 1}');
    await chmod(join(src, 'PG_VERSION'), 0o640);
    await symlink('/somewhere/else', join(src, 'pg_tblspc_link'));
    await utimes(join(src, 'PG_VERSION'), 1_600_000_000, 1_600_000_000);
    await utimes(join(src, 'base'), 1_500_000_000, 1_500_000_000);
    const tar = spawnSync('tar', ['--format=ustar', '-c', '-f', '-', '-C', src, '.'], { maxBuffer: 64 * 1024 * 1024 });
    expect(tar.status).toBe(0);

    const dest = join(dir, 'dest');
    await mkdir(dest);
    // Pieces that cut headers, payloads and padding at odd places.
    const { source, state } = lend(tar.stdout, [333, 70_000, 1, 1_000_000]);
    let reported = 0;
    const r = await extractTar(source, dest, { onBytes: (n) => (reported += n) });
    expect(r.bytes).toBe(tar.stdout.length);
    expect(reported).toBe(tar.stdout.length);
    expect(state.released).toBe(state.lent);

    expect((await readFile(join(dest, 'base', '5', '16384'))).equals(big)).toBe(true);
    expect(r.files.get('base/5/16384')).toEqual({ size: big.length, crc32c: crc32c(big) >>> 0 });
    expect(r.files.get('empty')).toEqual({ size: 0, crc32c: 0 });
    expect(r.manifest?.toString()).toBe('{"PostgreSQL-Backup-Manifest-Version": 1}');
    expect((await lstat(join(dest, 'PG_VERSION'))).mode & 0o7777).toBe(0o640);
    expect((await lstat(join(dest, 'PG_VERSION'))).mtimeMs).toBe(1_600_000_000_000);
    expect((await lstat(join(dest, 'base'))).mtimeMs).toBe(1_500_000_000_000);
    expect((await lstat(join(dest, 'pg_wal'))).mode & 0o7777).toBe(0o700);
    expect(await readlink(join(dest, 'pg_tblspc_link'))).toBe('/somewhere/else');

    // Same tree as tar -x gives: names, kinds, modes and sizes.
    const byTar = join(dir, 'by-tar');
    await mkdir(byTar);
    expect(spawnSync('tar', ['-x', '-p', '-f', '-', '-C', byTar], { input: tar.stdout }).status).toBe(0);
    const listing = (root: string) => spawnSync('find', ['.', '-printf', '%p %y %m %s %l\\n'], { cwd: root, encoding: 'utf8' }).stdout.split('\n').filter((l) => !l.startsWith('. ')).sort();
    expect(listing(dest)).toEqual(listing(byTar));
    expect(r.entries).toBe(spawnSync('tar', ['-t', '-f', '-'], { input: tar.stdout, encoding: 'utf8' }).stdout.trim().split('\n').length);
  });

  it('writes a tablespace\'s members where it is mapped and links pg_tblspc/<oid> to it; names past 100 bytes use the ustar prefix', async () => {
    const long = `PG_15_202209061/${'d'.repeat(60)}/${'f'.repeat(60)}`; // 137 bytes once under pg_tblspc/16385/
    const renamed = renamedHeader(header(long, { size: 3 }), `pg_tblspc/16385/${long}`);
    expect(parseHeader(renamed, true).name).toBe(`pg_tblspc/16385/${long}`);
    expect(() => renamedHeader(header('x'), `${'a'.repeat(300)}/b`)).toThrow(/too long for a ustar header/);
    const tar = archive(
      newHeader({ name: 'pg_tblspc/', type: '5', size: 0, mode: 0o700, mtime: 1_600_000_000 }),
      newHeader({ name: 'pg_tblspc/16385/', type: '5', size: 0, mode: 0o700, mtime: 1_600_000_000 }),
      renamedHeader(header('PG_15_202209061/', { type: '5', mode: 0o700 }), 'pg_tblspc/16385/PG_15_202209061/'),
      renamedHeader(header(`PG_15_202209061/${'d'.repeat(60)}/`, { type: '5', mode: 0o700 }), `pg_tblspc/16385/PG_15_202209061/${'d'.repeat(60)}/`),
      renamed,
      padded(Buffer.from('abc')),
      header('PG_VERSION', { size: 3 }),
      padded(Buffer.from('15\n')),
    );
    const dest = await mkdtemp(join(dir, 'tblspc-'));
    const mapped = join(dir, 'tblspc-mapped', '16385');
    const r = await extractTar(lend(tar, [700]).source, dest, { tablespaces: new Map([['16385', mapped]]) });
    expect(await readlink(join(dest, 'pg_tblspc', '16385'))).toBe(mapped);
    expect(await readFile(join(mapped, long), 'utf8')).toBe('abc');
    expect(r.files.has(`pg_tblspc/16385/${long}`)).toBe(true); // as the backup manifest names it
    expect(await readFile(join(dest, 'PG_VERSION'), 'utf8')).toBe('15\n');
    // Without a mapping (or when only checking), the tablespace stays under pg_tblspc/<oid>/.
    const inPlace = await mkdtemp(join(dir, 'tblspc-in-place-'));
    await extractTar(lend(tar, [4096]).source, inPlace);
    expect(await readFile(join(inPlace, 'pg_tblspc', '16385', long), 'utf8')).toBe('abc');
  });

  it('refuses names that leave the data directory, paths through its symlinks, hard links, damage and a cut stream', async () => {
    const attempt = async (tar: Buffer) => {
      const dest = await mkdtemp(join(dir, 'bad-'));
      return extractTar(lend(tar, [4096]).source, dest);
    };
    const data = padded(Buffer.from('x'));
    await expect(attempt(archive(header('../evil', { size: 1 }), data))).rejects.toThrow(/"\.\.\/evil", which would land outside the data directory/);
    await expect(attempt(archive(header('/etc/evil', { size: 1 }), data))).rejects.toThrow(TarFormatError);
    await expect(attempt(archive(header('link', { type: '2', link: '/tmp' }), header('link/evil', { size: 1 }), data))).rejects.toThrow(/goes through the symlink link/);
    await expect(attempt(archive(header('file', { size: 1 }), data, header('hard', { type: '1', link: 'file' })))).rejects.toThrow(/of type '1', which a pg_basebackup archive never has/);
    const damaged = header('file', { size: 1 });
    damaged[0] = 'g'.charCodeAt(0);
    await expect(attempt(archive(damaged, data))).rejects.toThrow(/damaged tar header/);
    await expect(attempt(Buffer.concat([header('file', { size: 5000 }), Buffer.alloc(512)]))).rejects.toThrow(/ends early inside file/);
    await expect(attempt(Buffer.concat([header('file', { size: 1 }), data]))).rejects.toThrow(/no end-of-archive marker/);
    await expect(attempt(Buffer.concat([archive(header('file', { size: 1 }), data), Buffer.from('junk')]))).rejects.toThrow(/data after its end-of-archive marker/);
  });

  it('creates a thousand files in one directory one after the other while their writes overlap, and stops at a create that fails', async () => {
    // Creates are queued (one at a time, see the extractor), so thousands wait at once; every file must still
    // get its bytes, and a failed create must surface instead of leaving the queue hanging.
    const files = Array.from({ length: 1000 }, (_, i) => ({ name: `base/5/${16384 + i}`, data: Buffer.alloc(1 + (i % 7) * 3000, i % 251) }));
    const tar = archive(header('base/', { type: '5', mode: 0o700 }), header('base/5/', { type: '5', mode: 0o700 }), ...files.flatMap((f) => [header(f.name, { size: f.data.length }), padded(f.data)]));
    const dest = await mkdtemp(join(dir, 'many-'));
    const { source, state } = lend(tar, [65536, 4096, 1 << 20]);
    const r = await extractTar(source, dest);
    expect(r.files.size).toBe(files.length);
    expect(state.released).toBe(state.lent);
    for (const f of [files[0]!, files[567]!, files[999]!]) {
      expect(await readFile(join(dest, f.name))).toEqual(f.data);
      expect(r.files.get(f.name)).toEqual({ size: f.data.length, crc32c: crc32c(f.data) >>> 0 });
    }

    const taken = await mkdtemp(join(dir, 'taken-'));
    await mkdir(join(taken, 'base/5'), { recursive: true });
    await writeFile(join(taken, 'base/5/16900'), 'already here');
    await expect(extractTar(lend(tar, [65536]).source, taken)).rejects.toThrow(/EEXIST.*base\/5\/16900/);
    expect(await readFile(join(taken, 'base/5/16900'), 'utf8')).toBe('already here');
  });
});

/** A manifest as PostgreSQL writes it: its SHA-256 covers every byte before the Manifest-Checksum line. */
function manifest(files: { path: string; size: number; algorithm?: string; checksum?: string }[]): Buffer {
  const lines = files.map((f) => `{ "Path": "${f.path}", "Size": ${f.size}, "Last-Modified": "2024-01-15 10:00:00 GMT", "Checksum-Algorithm": "${f.algorithm ?? 'CRC32C'}", "Checksum": "${f.checksum ?? ''}" }`);
  const body = `{ "PostgreSQL-Backup-Manifest-Version": 1,\n"Files": [\n${lines.join(',\n')}\n],\n"WAL-Ranges": [\n{ "Timeline": 1, "Start-LSN": "0/2000028", "End-LSN": "0/2000100" }\n],\n`;
  return Buffer.from(`${body}"Manifest-Checksum": "${createHash('sha256').update(body).digest('hex')}"}\n`);
}
/** A CRC-32C as the manifest writes it: the hex of its little-endian bytes. */
const le = (crc: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(crc >>> 0);
  return b.toString('hex');
};

describe('checkAgainstManifest', () => {
  const label = Buffer.from('START WAL LOCATION: 0/2000028\n');
  const page = Buffer.alloc(8192, 7);
  const restored = new Map([
    ['backup_label', { size: label.length, crc32c: crc32c(label) >>> 0 }],
    ['base/1/1255', { size: page.length, crc32c: crc32c(page) >>> 0 }],
    ['backup_manifest', { size: 10, crc32c: 1 }],
  ]);
  const good = [
    { path: 'backup_label', size: label.length, checksum: le(crc32c(label)) },
    { path: 'base/1/1255', size: page.length, checksum: le(crc32c(page)) },
  ];

  it('accepts a restore that matches, with the checksum in PostgreSQL\'s byte order', () => {
    expect(checkAgainstManifest(manifest(good), restored, 'base backup x')).toEqual({ checked: 2 });
    // PostgreSQL's own value for backup_label-like content is the little-endian hex: 123456789 -> 839206e3.
    expect(le(crc32c(Buffer.from('123456789')))).toBe('839206e3');
  });

  it('names a wrong checksum, a wrong size, a missing and an unlisted file, and a damaged manifest', () => {
    const wrong = [{ ...good[0]!, checksum: '00000000' }, { ...good[1]!, size: 4096 }, { path: 'global/pg_control', size: 8192, checksum: 'aabbccdd' }];
    const err = (() => {
      try {
        checkAgainstManifest(manifest(wrong), new Map([...restored, ['extra', { size: 1, crc32c: 0 }]]), 'base backup x');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err).toBeInstanceOf(ManifestMismatchError);
    expect(err!.message).toMatch(/^base backup x does not match its backup_manifest: /);
    expect(err!.message).toContain(`backup_label has checksum ${le(crc32c(label))}, the manifest says 00000000`);
    expect(err!.message).toContain('base/1/1255 has 8192 bytes, the manifest says 4096');
    expect(err!.message).toContain('global/pg_control is in the manifest but was not restored');
    expect(err!.message).toContain('extra was restored but is not in the manifest');
    const damaged = Buffer.from(manifest(good).toString().replace('"Size": 8192', '"Size": 8193'));
    expect(() => checkAgainstManifest(damaged, restored, 'base backup x')).toThrow(/backup_manifest is damaged \(its checksum is/);
  });

  it('leaves SHA checksums to pg_verifybackup and refuses a manifest without checksums', () => {
    expect(checkAgainstManifest(manifest([{ ...good[0]!, algorithm: 'SHA256', checksum: 'ab'.repeat(32) }]), restored, 'x')).toBe('other algorithm');
    expect(() => checkAgainstManifest(manifest([{ ...good[0]!, algorithm: 'NONE', checksum: '' }]), restored, 'x')).toThrow(/records no checksum for backup_label, so its files cannot be verified/);
  });
});

describe('checkBaseBackupContent (verify\'s test restore of a base backup)', () => {
  it('passes a whole base backup, and names a stream that lost a stretch and a file that differs from the manifest', async () => {
    const repo = await Repository.init(new LocalBlobStore(join(dir, 'repo'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
    const files = new Map([
      ['PG_VERSION', Buffer.from('15\n')],
      ['base/1/1255', Buffer.from(Array.from({ length: 3 * 8192 }, (_, i) => (i * 7) % 256))],
      ['global/pg_control', Buffer.alloc(8192, 9)],
    ]);
    const manifestBytes = manifest([...files].map(([path, d]) => ({ path, size: d.length, checksum: le(crc32c(d)) })));
    const tarOf = (content: Map<string, Buffer>) =>
      archive(
        header('base/', { type: '5', mode: 0o700 }), header('base/1/', { type: '5', mode: 0o700 }), header('global/', { type: '5', mode: 0o700 }),
        ...[...content].flatMap(([p, d]) => [header(p, { size: d.length }), padded(d)]),
        header('backup_manifest', { size: manifestBytes.length }), padded(manifestBytes),
      );
    const store = async (tar: Buffer) => {
      const stream = await storeStream(repo, Readable.from([tar]), undefined, () => {});
      const t = new Date();
      const d = await repo.saveBlob('tree', dumpDirTree([{ name: 'base.tar', content: stream.content, size: stream.size, mtime: t }]));
      const root = await repo.saveBlob('tree', rootTree(d.id, t, 'postgres-base'));
      await repo.flush();
      return { snapshot: { tree: root.id }, meta: { file: 'postgres-base/base.tar', manifest: true } as PhysicalMeta };
    };

    const good = await store(tarOf(files));
    expect(await checkBaseBackupContent(repo, good.snapshot, good.meta, 'base backup x')).toMatchObject({ files: 4, manifestChecked: true });

    // What the idle-stopped chunk worker did: a stretch of the stream gone, the rest stored as if whole.
    const whole = tarOf(files);
    const cut = await store(Buffer.concat([whole.subarray(0, 2000), whole.subarray(2000 + 3539)]));
    await expect(checkBaseBackupContent(repo, cut.snapshot, cut.meta, 'base backup x')).rejects.toThrow(/^base backup x: (damaged tar header|the base backup's tar stream ends early|not a tar stream)/);

    const changed = new Map(files);
    changed.set('base/1/1255', Buffer.alloc(3 * 8192, 1));
    const differs = await store(tarOf(changed));
    await expect(checkBaseBackupContent(repo, differs.snapshot, differs.meta, 'base backup x')).rejects.toThrow(/base backup x does not match its backup_manifest: base\/1\/1255 has checksum/);
  });
});

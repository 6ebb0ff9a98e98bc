// The WAL archive against a local directory and RADOS Gateway (real stores, real AES-GCM and zstd), the
// recovery-window arithmetic over archive listings, and the tar tap over a tar stream made by GNU tar.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBuffer } from '../../../blob';
import { IntegrityError } from '../../../repo/crypto/sealed-box';
import { generateMasterKey } from '../../../repo/crypto/master-key';
import { forEachBackend } from '../../../repo/keys/test-support';
import type { BaseBackupEntry } from './format';
import { parseBackupLabel, parseManifestWalRange } from './format';
import { TarTap } from './tar-tap';
import { WalArchive, WalConflictError, WalNameError, segmentOfLsn, walBySystem, type ArchivedWal } from './wal-archive';
import { chooseBaseBackup, recoveryWindow, walRunFrom } from './window';

const SYSID = '7313337137831172404';
const segment = (fill: number) => {
  const b = Buffer.alloc(16 * 1024 * 1024);
  b.fill(fill, 0, 4096);
  b.writeUInt32LE(0xd110, 0);
  return b;
};

forEachBackend((backend, fresh) => {
  describe(`WAL archive (${backend})`, () => {
    it('stores segments compressed and encrypted, and gives back exactly what was pushed', async () => {
      const store = await fresh();
      const archive = new WalArchive(store, generateMasterKey(), SYSID);
      const seg = segment(7);
      expect(await archive.push('000000010000000000000003', seg)).toBe('stored');
      const stored = await getBuffer(store, `wal/${SYSID}/000000010000000000000003`);
      expect(stored.length).toBeLessThan(64 * 1024); // zstd: a mostly empty 16 MiB segment is tiny
      expect(stored.includes(seg.subarray(0, 4096))).toBe(false); // no plaintext
      expect((await archive.fetch('000000010000000000000003'))!.equals(seg)).toBe(true);
      expect(await archive.fetch('000000010000000000000004')).toBeNull();
      const listed = await archive.list();
      expect(listed.map((w) => w.name)).toEqual(['000000010000000000000003']);
      expect([...(await walBySystem(store)).keys()]).toEqual([SYSID]);
    });

    it('accepts the same content again and refuses different content under an archived name', async () => {
      const store = await fresh();
      const archive = new WalArchive(store, generateMasterKey(), SYSID);
      await archive.push('00000002.history', Buffer.from('1\t0/3000000\tno recovery target specified\n'));
      expect(await archive.push('00000002.history', Buffer.from('1\t0/3000000\tno recovery target specified\n'))).toBe('already-archived');
      await expect(archive.push('00000002.history', Buffer.from('1\t0/4000000\tother\n'))).rejects.toThrow(WalConflictError);
      expect((await archive.fetch('00000002.history'))!.toString()).toContain('0/3000000');
    });

    it('detects a damaged object, a segment copied under another name and a wrong key', async () => {
      const store = await fresh();
      const key = generateMasterKey();
      const archive = new WalArchive(store, key, SYSID);
      await archive.push('000000010000000000000005', segment(5));
      const box = await getBuffer(store, `wal/${SYSID}/000000010000000000000005`);
      // Renamed: authentic bytes under the wrong name must not replay as another segment.
      await store.put(`wal/${SYSID}/000000010000000000000006`, () => box);
      await expect(archive.fetch('000000010000000000000006')).rejects.toThrow(IntegrityError);
      // Moved to another cluster's archive.
      await store.put(`wal/1234/000000010000000000000005`, () => box);
      await expect(new WalArchive(store, key, '1234').fetch('000000010000000000000005')).rejects.toThrow(IntegrityError);
      // One flipped bit.
      const bad = Buffer.from(box);
      bad[bad.length - 20]! ^= 1;
      await store.put(`wal/${SYSID}/000000010000000000000005`, () => bad);
      await expect(archive.fetch('000000010000000000000005')).rejects.toThrow(/authentication failed/);
      await expect(new WalArchive(store, generateMasterKey(), SYSID).fetch('000000010000000000000006')).rejects.toThrow(IntegrityError);
    });
  });
});

describe('WAL names and positions', () => {
  it('accepts what PostgreSQL archives and nothing else', () => {
    const a = new WalArchive({} as never, generateMasterKey(), SYSID);
    for (const ok of ['000000010000000000000001', '000000010000000000000001.partial', '000000010000000000000002.00000028.backup', '0000000A.history']) expect(a.keyOf(ok)).toBe(`wal/${SYSID}/${ok}`);
    for (const bad of ['../etc/passwd', '00000001000000000000001', '000000010000000000000001.gz', 'RECOVERYXLOG', '0000000a.history']) expect(() => a.keyOf(bad)).toThrow(WalNameError);
    expect(() => new WalArchive({} as never, generateMasterKey(), '12/34')).toThrow(WalNameError);
  });

  it('maps an LSN to its segment', () => {
    expect(segmentOfLsn('0/3000100', 1)).toBe('000000010000000000000003');
    expect(segmentOfLsn('16/B374D848', 2)).toBe('0000000200000016000000B3');
    expect(() => segmentOfLsn('3000100', 1)).toThrow(/not an LSN/);
  });

  it('reads backup_label and backup_manifest', () => {
    const label = parseBackupLabel('START WAL LOCATION: 0/8000028 (file 000000010000000000000008)\nCHECKPOINT LOCATION: 0/8000060\nBACKUP METHOD: streamed\nSTART TIME: 2026-11-28 21:33:55 UTC\nSTART TIMELINE: 1\n');
    expect(label).toEqual({ startLsn: '0/8000028', startWal: '000000010000000000000008', timeline: 1, startTime: '2026-11-28T21:33:55.000Z' });
    expect(parseManifestWalRange('{"WAL-Ranges": [{ "Timeline": 1, "Start-LSN": "0/8000028", "End-LSN": "0/8000100" }]}')).toEqual({ timeline: 1, startLsn: '0/8000028', endLsn: '0/8000100' });
    expect(() => parseBackupLabel('nonsense')).toThrow(/backup_label/);
  });
});

describe('recovery window', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
  const w = (name: string, s: number): ArchivedWal => ({ name, size: 1000, time: at(s) });
  const base = (id: string, startWal: string, stop: number): BaseBackupEntry =>
    ({ id, snapshot: {} as never, physical: { systemId: SYSID, startWal, stopTime: at(stop).toISOString(), stopLsn: `0/${startWal.slice(-1)}000100` } }) as unknown as BaseBackupEntry;
  const wal = [w('000000010000000000000002', 10), w('000000010000000000000003', 20), w('000000010000000000000004', 30), w('00000002.history', 35), w('000000020000000000000005', 40), w('000000020000000000000007', 60)];
  const b1 = base('b1', '000000010000000000000002', 12);
  const b2 = base('b2', '000000010000000000000004', 31);

  it('follows the unbroken run across a timeline switch and stops at a hole', () => {
    const r = walRunFrom('000000010000000000000002', wal);
    expect(r.run).toMatchObject({ firstSegment: '000000010000000000000002', lastSegment: '000000020000000000000005', segments: 4 });
    expect(r.run!.endTime).toEqual(at(40));
    expect(r.gapAfter).toBe('000000020000000000000005');
    expect(walRunFrom('000000010000000000000001', wal).run).toBeNull();
  });

  it('spans from the oldest usable base backup to the end of the run, with the newest WAL for the RPO', () => {
    const win = recoveryWindow(SYSID, [b2, b1], wal);
    expect(win.from).toEqual(at(12));
    expect(win.to).toEqual(at(40));
    expect(win.newestWal!.name).toBe('000000020000000000000007');
    expect(win.gapAfter).toBe('000000020000000000000005');
  });

  it('picks the newest base backup that finished before the target, and refuses targets outside the window', () => {
    expect(chooseBaseBackup({ kind: 'time', time: at(25) }, [b1, b2], wal).id).toBe('b1');
    expect(chooseBaseBackup({ kind: 'time', time: at(33) }, [b1, b2], wal).id).toBe('b2');
    expect(chooseBaseBackup({ kind: 'latest' }, [b1, b2], wal).id).toBe('b2');
    expect(() => chooseBaseBackup({ kind: 'time', time: at(5) }, [b1, b2], wal)).toThrow(/no base backup can recover to time/);
    expect(() => chooseBaseBackup({ kind: 'time', time: at(50) }, [b1, b2], wal)).toThrow(/after the end of the archived WAL/);
    expect(() => chooseBaseBackup({ kind: 'latest' }, [], wal)).toThrow(/holds no PostgreSQL base backup/);
    expect(chooseBaseBackup({ kind: 'lsn', lsn: '0/3FFFFFF' }, [b1, b2], wal).id).toBe('b1');
  });
});

describe('TarTap', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lifeboat-tartap-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('passes a GNU tar stream through unchanged and keeps the named members', async () => {
    const src = join(dir, 'src');
    await mkdir(join(src, 'base', 'a'.repeat(120)), { recursive: true });
    await writeFile(join(src, 'backup_label'), 'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n');
    await writeFile(join(src, 'base', 'a'.repeat(120), 'big'), Buffer.alloc(700_001, 3));
    await writeFile(join(src, 'backup_manifest'), '{"x": 1}');
    const tar = spawnSync('tar', ['-c', '-f', '-', '-C', src, '.'], { maxBuffer: 16 * 1024 * 1024 });
    expect(tar.status).toBe(0);
    const tap = new TarTap(new Set(['backup_label', 'backup_manifest']));
    const out: Buffer[] = [];
    // Odd piece sizes cross header and payload boundaries.
    const pieces: Buffer[] = [];
    for (let i = 0; i < tar.stdout.length; i += 333) pieces.push(tar.stdout.subarray(i, i + 333));
    for await (const b of Readable.from(pieces).pipe(tap)) out.push(b as Buffer);
    expect(Buffer.concat(out).equals(tar.stdout)).toBe(true);
    expect(tap.members.get('backup_label')!.toString()).toContain('0/2000028');
    expect(tap.members.get('backup_manifest')!.toString()).toBe('{"x": 1}');
    expect(tap.entries).toBeGreaterThanOrEqual(6);
  });

  it('fails on a stream that is not tar', async () => {
    const tap = new TarTap(new Set(['backup_label']));
    const garbage = Buffer.alloc(1024, 0x41);
    await expect(async () => {
      for await (const _ of Readable.from([garbage]).pipe(tap)) void _;
    }).rejects.toThrow(/not a tar stream/);
  });
});

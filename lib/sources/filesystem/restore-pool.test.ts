// The restore workers on their own (restore-worker.mjs through restore-pool.ts), with real files: what
// they write, check and rename, and how they report each kind of failure. The restorer's end-to-end
// behaviour is in restore-packs.test.ts and filesystem.test.ts.
import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentId, type MasterKey } from '../../repo/crypto/master-key';
import { sealBlob } from '../../repo/pack/blob';
import { prestartRestorePool, RestorePool, type BlobJob } from './restore-pool';

const key: MasterKey = { encKey: Buffer.alloc(32, 7), idKey: Buffer.alloc(32, 9) };
let dir: string;
let pool: RestorePool;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-restore-pool-'));
  pool = new RestorePool(key, { workers: 2, isRoot: false, largestBlob: 64 * 1024 });
});

afterAll(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

/** Seals `plaintexts` back to back into one shared buffer, as a pack read would hold them. */
function packOf(plaintexts: Buffer[]) {
  const sealed = plaintexts.map((p) => ({ ...sealBlob(key, p, 3), raw: p }));
  const bytes = Buffer.from(new SharedArrayBuffer(sealed.reduce((n, s) => n + s.sealed.length, 0) + 10)).subarray(10);
  let at = 0;
  const blobs = sealed.map((s) => {
    s.sealed.copy(bytes, at);
    const blob = { id: s.id.toString('hex'), start: at, length: s.sealed.length, rawLength: s.raw.length };
    at += s.sealed.length;
    return blob;
  });
  return { bytes, blobs };
}

const meta = { mode: 0o640, mtime: 1_700_000_000.5 };

describe('restore workers', () => {
  it('finish a one-blob file with its mode and mtime, and write pieces into an existing temp file', async () => {
    const small = Buffer.from('small file contents\n'.repeat(50));
    const half1 = Buffer.alloc(5000, 1);
    const half2 = Buffer.from('tail of a two-piece file');
    const { bytes, blobs } = packOf([small, half1, half2]);
    await writeFile(join(dir, 'two.tmp'), '');
    const jobs: BlobJob[] = [
      { ...blobs[0]!, writes: [], files: [{ tmp: join(dir, 'small.tmp'), dest: join(dir, 'small'), meta }] },
      { ...blobs[1]!, writes: [{ tmp: join(dir, 'two.tmp'), position: 0 }], files: [] },
      { ...blobs[2]!, writes: [{ tmp: join(dir, 'two.tmp'), position: half1.length }], files: [] },
    ];
    const out = await pool.restore(bytes, 'pack-1', jobs);
    expect(out).toEqual([
      { writes: [], files: [{}] },
      { writes: [null], files: [] },
      { writes: [null], files: [] },
    ]);
    expect(await readFile(join(dir, 'small'))).toEqual(small);
    const st = await stat(join(dir, 'small'));
    expect(st.mode & 0o777).toBe(0o640);
    expect(st.mtimeMs).toBe(1_700_000_000_500);

    const pieces = [half1, half2].map((p) => ({ id: contentId(key, p).toString('hex'), length: p.length }));
    expect(await pool.finish({ tmp: join(dir, 'two.tmp'), dest: join(dir, 'two'), create: false, pieces, meta })).toEqual({});
    expect(await readFile(join(dir, 'two'))).toEqual(Buffer.concat([half1, half2]));
  });

  it('report a damaged blob as an integrity error and write nothing for it', async () => {
    const { bytes, blobs } = packOf([Buffer.from('will be damaged'), Buffer.from('fine')]);
    bytes[blobs[0]!.start + 20]! ^= 1;
    const out = await pool.restore(bytes, 'pack-2', [
      { ...blobs[0]!, writes: [], files: [{ tmp: join(dir, 'bad.tmp'), dest: join(dir, 'bad'), meta }] },
      { ...blobs[1]!, writes: [], files: [{ tmp: join(dir, 'fine.tmp'), dest: join(dir, 'fine'), meta }] },
    ]);
    expect(out[0]).toMatchObject({ integrity: true, error: expect.stringMatching(/pack-2: authentication failed/) });
    expect(out[1]).toEqual({ writes: [], files: [{}] });
    expect(await readdir(dir)).not.toContain('bad.tmp');
    expect(await readFile(join(dir, 'fine'), 'utf8')).toBe('fine');
  });

  it('report a write into a missing temp file, and refuse to create over an existing one', async () => {
    const { bytes, blobs } = packOf([Buffer.from('some bytes')]);
    await writeFile(join(dir, 'planted.tmp'), 'planted');
    const [out] = await pool.restore(bytes, 'pack-3', [
      { ...blobs[0]!, writes: [{ tmp: join(dir, 'missing.tmp'), position: 0 }], files: [{ tmp: join(dir, 'planted.tmp'), dest: join(dir, 'planted'), meta }] },
    ]);
    expect(out!.writes[0]).toMatch(/ENOENT/);
    expect(out!.files[0]!.error).toMatch(/EEXIST/);
    expect(await readFile(join(dir, 'planted.tmp'), 'utf8')).toBe('planted');
  });

  it('refuse a file whose content or length differs from its pieces, and remove its temp file', async () => {
    const good = Buffer.from('the backed-up content');
    const piece = { id: contentId(key, good).toString('hex'), length: good.length };
    await writeFile(join(dir, 'changed.tmp'), Buffer.from('the backed-up CONTENT'));
    const changed = await pool.finish({ tmp: join(dir, 'changed.tmp'), dest: join(dir, 'changed'), create: false, pieces: [piece], meta });
    expect(changed.error).toBe('restored content does not match the backup (piece 1 of 1)');
    await writeFile(join(dir, 'longer.tmp'), Buffer.concat([good, Buffer.from('!')]));
    const longer = await pool.finish({ tmp: join(dir, 'longer.tmp'), dest: join(dir, 'longer'), create: false, pieces: [piece], meta });
    expect(longer.error).toBe('restored file has the wrong length');
    const names = await readdir(dir);
    for (const n of ['changed.tmp', 'changed', 'longer.tmp', 'longer']) expect(names).not.toContain(n);
  });

  it('catch a blob that authenticates but is not its id\'s content when the file is read back', async () => {
    // Sealed under another blob's id: the GCM tag authenticates it (the id is its AAD); the re-read hash does not.
    const claimed = contentId(key, Buffer.from('what the index says this is'));
    const sealed = sealBlob(key, Buffer.from('other bytes'), 3, claimed).sealed;
    const bytes = Buffer.from(new SharedArrayBuffer(sealed.length));
    sealed.copy(bytes);
    const [out] = await pool.restore(bytes, 'pack-4', [
      { id: claimed.toString('hex'), start: 0, length: sealed.length, rawLength: 11, writes: [], files: [{ tmp: join(dir, 'mislabelled.tmp'), dest: join(dir, 'mislabelled'), meta }] },
    ]);
    expect(out).toEqual({ writes: [], files: [{ error: 'restored content does not match the backup (piece 1 of 1)' }] });
    const names = await readdir(dir);
    for (const n of ['mislabelled.tmp', 'mislabelled']) expect(names).not.toContain(n);
  });

  it('create an empty file', async () => {
    expect(await pool.finish({ tmp: join(dir, 'empty.tmp'), dest: join(dir, 'empty'), create: true, pieces: [], meta })).toEqual({});
    expect((await stat(join(dir, 'empty'))).size).toBe(0);
  });

  it('refuse a read that is not in shared memory', async () => {
    await expect(pool.restore(Buffer.alloc(10), 'p', [])).rejects.toThrow(/SharedArrayBuffer/);
  });
});

it('start() boots every worker before the first job and keeps them past their idle time until closed', async () => {
  const early = new RestorePool(key, { workers: 2, isRoot: false, largestBlob: 1024 });
  try {
    early.start();
    expect(early.running).toBe(2);
    await new Promise((r) => setTimeout(r, 1500)); // longer than the pool's idle time (1 s)
    expect(early.running).toBe(2);
  } finally {
    await early.close();
  }
  expect(early.running).toBe(0);
});

it('a prestarted pool boots before the restore and is taken by the first restore with its key', async () => {
  const other: MasterKey = { encKey: Buffer.alloc(32, 1), idKey: Buffer.alloc(32, 2) };
  prestartRestorePool(key, 64 * 1024);
  const taken = RestorePool.take(key, { largestBlob: 1024 });
  try {
    expect(taken.running).toBeGreaterThan(0); // booting since the prestart, before any job
    // Taken once: the next restore, another key, a set worker count or larger blobs get pools of their own.
    const again = RestorePool.take(key, { largestBlob: 1024 });
    expect(again).not.toBe(taken);
    expect(again.running).toBe(0);
    await again.close();
    prestartRestorePool(key, 1024);
    for (const opts of [{ largestBlob: 2048 }, { largestBlob: 512, workers: 1 }]) {
      const own = RestorePool.take(key, opts);
      expect(own.running).toBe(0);
      await own.close();
    }
    const wrongKey = RestorePool.take(other, { largestBlob: 512 });
    expect(wrongKey.running).toBe(0);
    await wrongKey.close();
    // And the workers it got open blobs with the key.
    const { bytes, blobs } = packOf([Buffer.from('prestarted')]);
    const { results } = await taken.open(bytes, 'pack', blobs);
    expect(results[0]!.data!.toString()).toBe('prestarted');
  } finally {
    await taken.close();
    await RestorePool.take(key, { largestBlob: 1024 }).close(); // the second prestart's pool
  }
});

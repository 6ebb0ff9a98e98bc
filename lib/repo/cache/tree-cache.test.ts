// The local tree cache: what it stores is sealed (no plaintext on disk), damage is detected and healed,
// and a re-backup or restore with a warm cache reads no tree from the bucket (counted on a local store).
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore, type BlobStore } from '../../blob';
import { backupFilesystem } from '../../sources/filesystem/backup';
import { restoreTree } from '../../sources/filesystem/restorer';
import { Repository } from '../repository';
import { resolveCacheRoot } from './tree-cache';

const fastKdf = { kdf: { N: 1024 } };
const source = { kind: 'filesystem' as const, name: 'cache-test' };
let work: string;
let src: string;

/** Records the key of every get, so a test can tell pack reads from the rest. */
function countingGets(inner: BlobStore): BlobStore & { gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    put: (k, b, o) => inner.put(k, b, o),
    get: (k, o) => (gets.push(k), inner.get(k, o)),
    head: (k, o) => inner.head(k, o),
    list: (p, o) => inner.list(p, o),
    delete: (k, o) => inner.delete(k, o),
    describe: () => inner.describe(),
  };
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* walk(join(dir, e.name));
    else yield join(dir, e.name);
  }
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-cache-test-'));
  src = join(work, 'src');
  for (let d = 0; d < 12; d++) {
    await mkdir(join(src, `dir-${d}`, 'sub'), { recursive: true });
    await writeFile(join(src, `dir-${d}`, 'sub', 'secret-name-visible-in-trees.txt'), `file ${d}\n`);
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('tree cache', () => {
  it('a warm cache serves every tree: the re-backup and the restore read no pack for trees', async () => {
    const cacheRoot = join(work, 'cache-warm');
    const store = countingGets(new LocalBlobStore(join(work, 'repo-warm'), { fsync: false }));
    const first = await Repository.init(store, { passphrase: 'pw' }, { ...fastKdf, cacheRoot });
    await backupFilesystem(first, { source, paths: [src] });

    // The cache holds only sealed boxes: no file name from the trees appears in it.
    const files: string[] = [];
    for await (const f of walk(join(cacheRoot, first.id))) files.push(f);
    expect(files.length).toBeGreaterThanOrEqual(12 * 2 + 1);
    for (const f of files) expect((await readFile(f)).includes('secret-name-visible-in-trees')).toBe(false);

    const again = await Repository.open(store, { passphrase: 'pw' }, { cacheRoot });
    store.gets.length = 0;
    const { snapshot } = await backupFilesystem(again, { source, paths: [src] });
    expect(snapshot.summary.unchangedFiles).toBe(12);
    expect(store.gets.filter((k) => k.startsWith('data/'))).toEqual([]);

    store.gets.length = 0;
    const result = await restoreTree(again, snapshot.tree, join(work, 'restored-warm'), { from: src });
    expect(result.errors).toEqual([]);
    expect(result.files).toBe(12);
    // Only the 12 small data blobs' packs are read: fewer pack reads than the 37 tree blobs.
    expect(store.gets.filter((k) => k.startsWith('data/')).length).toBeLessThan(12 + 1);
  });

  it('index files and snapshots are read from the cache when their hash still matches their name', async () => {
    const cacheRoot = join(work, 'cache-objects');
    const store = countingGets(new LocalBlobStore(join(work, 'repo-objects'), { fsync: false }));
    const repo = await Repository.init(store, { passphrase: 'pw' }, { ...fastKdf, cacheRoot });
    await backupFilesystem(repo, { source, paths: [src] });
    await backupFilesystem(repo, { source, paths: [src] });
    expect((await repo.listSnapshots()).length).toBe(2); // fills the cache with both snapshots

    store.gets.length = 0;
    const again = await Repository.open(store, { passphrase: 'pw' }, { cacheRoot });
    expect((await again.listSnapshots()).length).toBe(2);
    expect(store.gets.filter((k) => k.startsWith('index/') || k.startsWith('snapshots/'))).toEqual([]);

    // A tampered copy is not used: it is fetched again (and the listing stays the bucket's).
    const [snap] = await again.listSnapshots();
    await writeFile(join(cacheRoot, repo.id, 'snapshots', snap!.id), 'garbage');
    store.gets.length = 0;
    const third = await Repository.open(store, { passphrase: 'pw' }, { cacheRoot });
    expect((await third.listSnapshots()).map((e) => e.id)).toContain(snap!.id);
    expect(store.gets).toContain(`snapshots/${snap!.id}`);
    await third.deleteSnapshot(snap!.id);
    expect((await third.listSnapshots()).map((e) => e.id)).not.toContain(snap!.id);
  });

  it('without a cache, the same re-backup reads parent trees from the bucket', async () => {
    const store = countingGets(new LocalBlobStore(join(work, 'repo-cold'), { fsync: false }));
    const repo = await Repository.init(store, { passphrase: 'pw' }, fastKdf);
    await backupFilesystem(repo, { source, paths: [src] });
    const again = await Repository.open(store, { passphrase: 'pw' });
    store.gets.length = 0;
    const { snapshot } = await backupFilesystem(again, { source, paths: [src] });
    expect(snapshot.summary.unchangedFiles).toBe(12);
    expect(store.gets.filter((k) => k.startsWith('data/')).length).toBeGreaterThanOrEqual(12 * 2 + 1);
  });

  it('a damaged or foreign cache entry is dropped and the tree is read from the bucket', async () => {
    const cacheRoot = join(work, 'cache-damaged');
    const store = countingGets(new LocalBlobStore(join(work, 'repo-damaged'), { fsync: false }));
    const repo = await Repository.init(store, { passphrase: 'pw' }, { ...fastKdf, cacheRoot });
    const { snapshot } = await backupFilesystem(repo, { source, paths: [src] });
    const files: string[] = [];
    for await (const f of walk(join(cacheRoot, repo.id))) files.push(f);
    for (const f of files) {
      const bytes = await readFile(f);
      bytes[bytes.length - 1]! ^= 0xff;
      await writeFile(f, bytes);
    }
    const again = await Repository.open(store, { passphrase: 'pw' }, { cacheRoot });
    store.gets.length = 0;
    const result = await restoreTree(again, snapshot.tree, join(work, 'restored-damaged'), { from: src });
    expect(result.errors).toEqual([]);
    expect(result.files).toBe(12);
    expect(store.gets.filter((k) => k.startsWith('data/')).length).toBeGreaterThan(0);
    // ...and the entries were rewritten good: a second restore reads trees from the cache again.
    store.gets.length = 0;
    expect((await restoreTree(again, snapshot.tree, join(work, 'restored-healed'), { from: src })).files).toBe(12);
    expect(store.gets.filter((k) => k.startsWith('data/')).length).toBeLessThan(12 + 1);
  });

  it('resolveCacheRoot: LIFEBOAT_CACHE_DIR, "off", XDG_CACHE_HOME, then ~/.cache', () => {
    const env = (vars: Record<string, string>) => vars as NodeJS.ProcessEnv;
    expect(resolveCacheRoot(env({ LIFEBOAT_CACHE_DIR: '/var/cache/lb' }))).toBe('/var/cache/lb');
    expect(resolveCacheRoot(env({ LIFEBOAT_CACHE_DIR: 'off' }))).toBeNull();
    expect(resolveCacheRoot(env({ XDG_CACHE_HOME: '/x' }))).toBe('/x/lifeboat');
    expect(resolveCacheRoot(env({}))).toMatch(/\/\.cache\/lifeboat$/);
  });
});

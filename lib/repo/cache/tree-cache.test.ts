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
import { encodeTree } from '../tree';
import { PackWriter, sealBlob } from '../pack';
import { objectKey } from '../layout';
import { writeIndexForPacks } from '../index';
import { randomBytes } from 'node:crypto';
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

    // The cache holds only sealed boxes: no file name from the trees appears in it. The 37 trees are in one
    // tree pack, kept whole: one file, not one per tree.
    const files: string[] = [];
    for await (const f of walk(join(cacheRoot, first.id))) files.push(f);
    for (const f of files) expect((await readFile(f)).includes('secret-name-visible-in-trees')).toBe(false);
    const treePacks = files.filter((f) => f.includes('/tree-packs/'));
    expect(treePacks.length).toBe(1);
    expect(files.filter((f) => f.includes('/trees/'))).toEqual([]);
    expect([...first.content.masterIndex.packs()].filter((p) => p.treesOnly).map((p) => p.id)).toEqual([treePacks[0]!.split('/').pop()]);

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
      for (let i = 0; i < bytes.length; i += 64) bytes[i]! ^= 0xff; // every blob of a cached pack too
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

  it('a cold cache fetches each tree pack with one GET, and single trees of mixed packs one by one', async () => {
    const store = countingGets(new LocalBlobStore(join(work, 'repo-tree-packs'), { fsync: false }));
    const repo = await Repository.init(store, { passphrase: 'pw' }, fastKdf);
    const { snapshot } = await backupFilesystem(repo, { source, paths: [src] });
    const treePacks = [...repo.content.masterIndex.packs()].filter((p) => p.treesOnly);
    expect(treePacks.length).toBe(1);

    const cacheRoot = join(work, 'cache-tree-packs');
    const cold = await Repository.open(store, { passphrase: 'pw' }, { cacheRoot });
    store.gets.length = 0;
    const result = await restoreTree(cold, snapshot.tree, join(work, 'restored-tree-packs'), { from: src });
    expect(result.files).toBe(12);
    const packGets = store.gets.filter((k) => k.startsWith('data/'));
    expect(packGets.filter((k) => k === objectKey('data', treePacks[0]!.id))).toHaveLength(1);
    expect(packGets.length).toBeLessThan(37); // the 37 trees came in one GET

    // A tree in a pack that also holds data (as older versions wrote them) is fetched alone and cached on
    // its own: the pack is not fetched whole.
    const mixedStore = countingGets(new LocalBlobStore(join(work, 'repo-mixed'), { fsync: false }));
    const mixed = await Repository.init(mixedStore, { passphrase: 'pw' }, fastKdf);
    const tree = encodeTree({ nodes: [] });
    const sealedTree = sealBlob(mixed.masterKey, tree, 3);
    const sealedData = sealBlob(mixed.masterKey, randomBytes(200_000), 3);
    const writer = new PackWriter(mixed.masterKey);
    writer.add('tree', sealedTree.id.toString('hex'), sealedTree.sealed, tree.length);
    writer.add('data', sealedData.id.toString('hex'), sealedData.sealed, 200_000);
    const pack = writer.finish();
    await mixedStore.put(objectKey('data', pack.id), () => pack.bytes);
    await writeIndexForPacks(mixedStore, mixed.masterKey, [{ id: pack.id, size: pack.bytes.length, entries: pack.entries }]);
    const treeId = sealedTree.id.toString('hex');
    const mixedCache = join(work, 'cache-mixed');
    const reader = await Repository.open(mixedStore, { passphrase: 'pw' }, { cacheRoot: mixedCache });
    expect(reader.content.masterIndex.pack(pack.id)!.treesOnly).toBe(false);
    mixedStore.gets.length = 0;
    expect((await reader.loadBlob(treeId)).equals(tree)).toBe(true);
    expect(mixedStore.gets).toEqual([objectKey('data', pack.id)]); // one ranged read of the tree
    const cachedFiles: string[] = [];
    for await (const f of walk(join(mixedCache, mixed.id))) cachedFiles.push(f);
    expect(cachedFiles.filter((f) => f.endsWith(`/trees/${treeId.slice(0, 2)}/${treeId}`))).toHaveLength(1);
    expect(cachedFiles.filter((f) => f.includes('/tree-packs/'))).toEqual([]);
    const again = await Repository.open(mixedStore, { passphrase: 'pw' }, { cacheRoot: mixedCache });
    mixedStore.gets.length = 0;
    expect((await again.loadBlob(treeId)).equals(tree)).toBe(true);
    expect(mixedStore.gets.filter((k) => k.startsWith('data/'))).toEqual([]);
  });

  it('resolveCacheRoot: LIFEBOAT_CACHE_DIR, "off", XDG_CACHE_HOME, then ~/.cache', () => {
    const env = (vars: Record<string, string>) => vars as NodeJS.ProcessEnv;
    expect(resolveCacheRoot(env({ LIFEBOAT_CACHE_DIR: '/var/cache/lb' }))).toBe('/var/cache/lb');
    expect(resolveCacheRoot(env({ LIFEBOAT_CACHE_DIR: 'off' }))).toBeNull();
    expect(resolveCacheRoot(env({ XDG_CACHE_HOME: '/x' }))).toBe('/x/lifeboat');
    expect(resolveCacheRoot(env({}))).toMatch(/\/\.cache\/lifeboat$/);
  });
});

// The pack-wise restore data path, end to end on a real repository (a local directory store whose config
// asks for small chunks and packs, so a few MiB make hundreds of blobs in dozens of packs): far fewer pack
// reads than blobs; blobs shared between files and repeated within a file; files spanning several packs;
// damaged or missing packs healed from another copy, or reported for the files they hold only; blobs the
// index does not list; and an abort that leaves no temp file behind.
import { randomBytes } from 'node:crypto';
import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore, readAll, type BlobStore } from '../../blob';
import { writeConfig } from '../../repo/config';
import { objectKey } from '../../repo/layout';
import { Repository } from '../../repo/repository';
import { decodeTree, type DirNode, type FileNode, type TreeNode } from '../../repo/tree';
import { backupFilesystem } from './backup';
import { expectedTotals, restoreTree, type RestoreProgress, type RestoreRepo } from './restorer';

const KiB = 1024;
const pw = { passphrase: 'pw' };
const source = { kind: 'filesystem' as const, name: 'packs' };
let work: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-restore-packs-'));
  src = join(work, 'src');
  await mkdir(join(src, 'small'), { recursive: true });
  await mkdir(join(src, 'sub/deeper'), { recursive: true });
  for (let i = 0; i < 60; i++) await writeFile(join(src, 'small', `f${String(i).padStart(2, '0')}.txt`), `file ${i}\n`.repeat(20 + i * 37));
  const shared = randomBytes(100 * KiB);
  await writeFile(join(src, 'shared-a.bin'), shared);
  await writeFile(join(src, 'sub/shared-b.bin'), shared);
  const block = randomBytes(16 * KiB);
  await writeFile(join(src, 'sub/deeper/repeat.bin'), Buffer.concat(Array.from({ length: 12 }, () => block)));
  await writeFile(join(src, 'big.bin'), randomBytes(1536 * KiB));
  await writeFile(join(src, 'empty.txt'), '');
  await chmod(join(src, 'small/f07.txt'), 0o600);
  await link(join(src, 'small/f00.txt'), join(src, 'sub/f00-link.txt'));
  await symlink('../big.bin', join(src, 'sub/big-link'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A repository whose config asks for ~8 KiB chunks and 64 KiB packs. */
async function smallRepo(store: BlobStore): Promise<Repository> {
  const first = await Repository.init(store, pw, { kdf: { N: 1024 } });
  const chunker = { algorithm: 'fastcdc-2020' as const, minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 32 * KiB };
  await writeConfig(store, first.masterKey, { ...first.config, chunker, packTargetSize: 64 * KiB });
  return Repository.open(store, pw);
}

/** The repository as the restorer sees it, counting pack reads and single-blob loads. */
function counted(repo: Repository, onRead?: () => void) {
  const calls = { reads: 0, loads: 0 };
  const wrapped: RestoreRepo = {
    locateBlob: (id) => repo.locateBlob(id),
    readPackRange: (packId, offset, length, signal) => {
      calls.reads++;
      onRead?.();
      return repo.readPackRange(packId, offset, length, signal);
    },
    loadBlob: (id, signal) => {
      calls.loads++;
      return repo.loadBlob(id, signal);
    },
    masterKey: repo.masterKey,
    config: repo.config,
  };
  return { repo: wrapped, calls };
}

/** A store whose reads of one pack come back with one byte flipped (at `at`, an offset in the pack). */
/** Flips one byte of `target`'s pack as it is read; `target` is read at each get, so a test may set it after opening. */
function flipping(inner: BlobStore, target: { packId: string; at: number }): BlobStore {
  return {
    put: (k, body, opts) => inner.put(k, body, opts),
    head: (k, opts) => inner.head(k, opts),
    list: (prefix, opts) => inner.list(prefix, opts),
    delete: (k, opts) => inner.delete(k, opts),
    describe: () => `flipping ${inner.describe()}`,
    async get(k, opts) {
      const stream = await inner.get(k, opts);
      if (!target.packId || k !== objectKey('data', target.packId)) return stream;
      const bytes = await readAll(stream);
      const start = opts?.range?.offset ?? 0;
      const { at } = target;
      if (at >= start && at < start + bytes.length) bytes[at - start]! ^= 0x55;
      return Readable.from([bytes], { objectMode: false });
    },
  };
}

/** Every file under `dir` (relative path -> bytes), symlinks and FIFOs skipped. */
async function files(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.set(relative(dir, join(e.parentPath, e.name)), await readFile(join(e.parentPath, e.name)));
  }
  return out;
}

async function tempFilesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).filter((p) => String(p).includes('.lifeboat-')).map(String);
}

/**
 * What the restore of src reads: its file nodes by path relative to src, the data blobs, and how many
 * loadBlob calls the trees take (those above src to find it, then every tree below).
 */
async function snapshotFacts(repo: Repository, rootTree: string) {
  const srcPath = src.slice(1);
  const nodes = new Map<string, TreeNode>();
  const blobs = new Set<string>();
  let treeLoads = 0;
  const walk = async (tree: string, path: string) => {
    const underSrc = path === srcPath || path.startsWith(`${srcPath}/`);
    treeLoads++;
    for (const n of decodeTree(await repo.loadBlob(tree), tree).nodes) {
      const p = path ? `${path}/${n.name}` : n.name;
      if (underSrc) nodes.set(relative(srcPath, p), n);
      if (n.type === 'dir' && (underSrc || srcPath === p || srcPath.startsWith(`${p}/`))) await walk(n.subtree, p);
      if (n.type === 'file' && underSrc) for (const id of n.content) blobs.add(id);
    }
  };
  await walk(rootTree, '');
  const file = (rel: string) => nodes.get(rel) as FileNode;
  const dir = (rel: string) => nodes.get(rel) as DirNode;
  return { file, dir, blobs, treeLoads };
}

async function expectSameAsSource(target: string, except: string[] = []) {
  const want = await files(src);
  const got = await files(target);
  for (const e of except) want.delete(e);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [p, bytes] of want) expect(got.get(p)!.equals(bytes), p).toBe(true);
}

describe('pack-wise restore', () => {
  let repo: Repository;
  let tree: string;

  beforeAll(async () => {
    repo = await smallRepo(new LocalBlobStore(join(work, 'repo'), { fsync: false }));
    ({ snapshot: { tree } } = await backupFilesystem(repo, { source, paths: [src] }));
  });

  it('reads each pack once, not each blob, and restores shared, repeated and multi-pack files', async () => {
    const { file, blobs, treeLoads } = await snapshotFacts(repo, tree);
    // What this test relies on: the shapes named in its title are really in the snapshot.
    const big = file('big.bin').content;
    expect(new Set(big.map((id) => repo.locateBlob(id)!.packId)).size).toBeGreaterThanOrEqual(5);
    const repeat = file('sub/deeper/repeat.bin').content;
    expect(new Set(repeat).size).toBeLessThan(repeat.length);
    expect(file('sub/shared-b.bin').content).toEqual(file('shared-a.bin').content);
    expect(blobs.size).toBeGreaterThan(200);
    expect(treeLoads).toBe(src.split('/').length - 1 + 4); // root ... src, then src, small, sub, sub/deeper

    const { repo: wrapped, calls } = counted(repo);
    const target = join(work, 'restore-all');
    const progress: RestoreProgress[] = [];
    const result = await restoreTree(wrapped, tree, target, { from: src, onProgress: (p) => progress.push(p) });
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ files: 66, verifiedFiles: 65, dirs: 3 }); // the hard link is linked, not written
    await expectSameAsSource(target);
    expect((await stat(join(target, 'sub/f00-link.txt'))).ino).toBe((await stat(join(target, 'small/f00.txt'))).ino);
    expect((await stat(join(target, 'small/f07.txt'))).mode & 0o777).toBe(0o600);
    expect(await tempFilesUnder(target)).toEqual([]);

    const packs = new Set([...blobs].map((id) => repo.locateBlob(id)!.packId));
    expect(calls.reads).toBe(packs.size); // one read per pack: packs are far smaller than MAX_READ
    expect(calls.reads * 5).toBeLessThan(blobs.size);
    expect(calls.loads).toBe(treeLoads); // trees only
    const last = progress.at(-1)!;
    expect(last).toMatchObject({ filesDone: 66, filesTotal: 66, bytesTotal: last.bytesDone });
  });

  it('restores blobs the index does not list one by one', async () => {
    const { file, treeLoads } = await snapshotFacts(repo, tree);
    const hidden = new Set(file('big.bin').content.slice(3, 5));
    const { repo: wrapped, calls } = counted(repo);
    const partialIndex: RestoreRepo = { ...wrapped, locateBlob: (id) => (hidden.has(id) ? undefined : repo.locateBlob(id)) };
    const target = join(work, 'restore-unindexed');
    const result = await restoreTree(partialIndex, tree, target, { from: src });
    expect(result.errors).toEqual([]);
    await expectSameAsSource(target);
    expect(calls.loads).toBe(treeLoads + file('big.bin').content.length);
  });

  it('reports a file whose blob is damaged and has no other copy; every other file is restored', async () => {
    const { file, treeLoads } = await snapshotFacts(repo, tree);
    const loc = repo.locateBlob(file('small/f10.txt').content[0]!)!;
    const damaged = await Repository.open(flipping(repo.store, { packId: loc.packId, at: loc.offset + 40 }), pw);
    const sharesThatBlob = [...(await files(src)).keys()].filter((p) => file(p).content.some((id) => repo.locateBlob(id)!.offset === loc.offset && repo.locateBlob(id)!.packId === loc.packId));
    expect(sharesThatBlob).toEqual(['small/f10.txt']);

    const { repo: wrapped, calls } = counted(damaged);
    const target = join(work, 'restore-damaged');
    const result = await restoreTree(wrapped, tree, target, { from: src });
    expect(result.errors).toEqual([{ path: join(target, 'small/f10.txt'), message: expect.stringContaining(file('small/f10.txt').content[0]!) }]);
    expect(result.verifiedFiles).toBe(64);
    expect(calls.loads).toBe(treeLoads + 1); // the fallback tried the blob alone once
    await expectSameAsSource(target, ['small/f10.txt']);
    expect(await tempFilesUnder(target)).toEqual([]);
  });

  it('reports a directory whose tree is damaged and restores everything else', async () => {
    const { dir } = await snapshotFacts(repo, tree);
    const treeId = dir('sub/deeper').subtree;
    const loc = repo.locateBlob(treeId)!;
    const damaged = await Repository.open(flipping(repo.store, { packId: loc.packId, at: loc.offset + 40 }), pw);
    const target = join(work, 'restore-damaged-tree');
    const result = await restoreTree(damaged, tree, target, { from: src });
    expect(result.errors).toEqual([{ path: join(target, 'sub/deeper'), message: expect.stringContaining(treeId) }]);
    expect(result.dirs).toBe(2);
    await expectSameAsSource(target, ['sub/deeper/repeat.bin']);
  });

  it('restores in batches of a few files: the same bytes, a hard link to a file batches earlier, exact totals', async () => {
    const { blobs } = await snapshotFacts(repo, tree);
    const { repo: wrapped, calls } = counted(repo);
    const target = join(work, 'restore-batched');
    const progress: RestoreProgress[] = [];
    const batch = { files: 7, pieces: 20 };
    const result = await restoreTree(wrapped, tree, target, { from: src, batch, expected: { files: 1, bytes: 1 }, onProgress: (p) => progress.push(p) });
    expect(result.errors).toEqual([]);
    expect(result).toMatchObject({ files: 66, verifiedFiles: 65, dirs: 3 });
    await expectSameAsSource(target);
    // small/ (60 files) comes before sub/ in the walk: its link is restored many batches after it.
    expect((await stat(join(target, 'sub/f00-link.txt'))).ino).toBe((await stat(join(target, 'small/f00.txt'))).ino);
    expect(await tempFilesUnder(target)).toEqual([]);
    const packs = new Set([...blobs].map((id) => repo.locateBlob(id)!.packId));
    expect(calls.reads).toBeGreaterThan(packs.size); // packs shared by files of several batches are read once per batch
    expect(progress.at(-1)).toMatchObject({ filesDone: 66, filesTotal: 66 });
  });

  it('takes progress totals from the snapshot summary only when restoring all of it', () => {
    const summary = { files: 66, bytes: 12345 };
    expect(expectedTotals({ paths: [src], summary }, src)).toEqual(summary);
    expect(expectedTotals({ paths: [src], summary }, undefined)).toEqual(summary);
    expect(expectedTotals({ paths: [src, '/etc'], summary }, '/')).toEqual(summary);
    expect(expectedTotals({ paths: [src, '/etc'], summary }, src)).toBeUndefined();
    expect(expectedTotals({ paths: [src], summary }, join(src, 'small'))).toBeUndefined();
  });

  it('reports a later name with its first name\'s failure, batches apart', async () => {
    const { file } = await snapshotFacts(repo, tree);
    const id = file('small/f00.txt').content[0]!;
    const loc = repo.locateBlob(id)!;
    const damaged = await Repository.open(flipping(repo.store, { packId: loc.packId, at: loc.offset + 40 }), pw);
    const sharesThatBlob = [...(await files(src)).keys()].filter((p) => file(p).content.some((c) => repo.locateBlob(c)!.offset === loc.offset && repo.locateBlob(c)!.packId === loc.packId));
    expect(sharesThatBlob.sort()).toEqual(['small/f00.txt', 'sub/f00-link.txt']);
    const target = join(work, 'restore-batched-damaged');
    const result = await restoreTree(damaged, tree, target, { from: src, batch: { files: 5, pieces: 20 } });
    expect(result.errors).toEqual([
      { path: join(target, 'small/f00.txt'), message: expect.stringContaining(id) },
      { path: join(target, 'sub/f00-link.txt'), message: expect.stringContaining(id) },
    ]);
    expect(result.verifiedFiles).toBe(64);
    await expectSameAsSource(target, ['small/f00.txt', 'sub/f00-link.txt']);
    expect(await tempFilesUnder(target)).toEqual([]);
  });

  it('restores a single file given as `from`', async () => {
    const target = join(work, 'restore-one-file');
    const result = await restoreTree(repo, tree, target, { from: join(src, 'big.bin') });
    expect(result).toMatchObject({ files: 1, verifiedFiles: 1, dirs: 0, errors: [] });
    expect((await readFile(join(target, 'big.bin'))).equals(await readFile(join(src, 'big.bin')))).toBe(true);
    expect(await readdir(target)).toEqual(['big.bin']);
  });

  it('stops promptly on abort and leaves no temp file', async () => {
    const controller = new AbortController();
    const { repo: wrapped, calls } = counted(repo);
    const target = join(work, 'restore-aborted');
    const reason = new Error('stop now');
    const restoring = restoreTree(wrapped, tree, target, {
      from: src,
      signal: controller.signal,
      onProgress: () => controller.abort(reason), // the first progress report comes after the first write: temp files exist
    });
    await expect(restoring).rejects.toBe(reason);
    expect(await tempFilesUnder(target)).toEqual([]);
    const total = counted(repo);
    await restoreTree(total.repo, tree, join(work, 'restore-not-aborted'), { from: src });
    expect(calls.reads).toBeLessThan(total.calls.reads / 2);
  });
});

describe('pack-wise restore with two copies of every blob', () => {
  let store: BlobStore;
  let tree: string;

  beforeAll(async () => {
    // Two writers that opened the repository before either stored anything each store every blob (§7).
    store = new LocalBlobStore(join(work, 'repo-twice'), { fsync: false });
    const first = await smallRepo(store);
    const second = await Repository.open(store, pw);
    ({ snapshot: { tree } } = await backupFilesystem(first, { source, paths: [src] }));
    await backupFilesystem(second, { source, paths: [src], full: true });
  });

  it('restores a blob from its other copy when the pack it reads is damaged', async () => {
    const repo = await Repository.open(store, pw);
    const { file, treeLoads } = await snapshotFacts(repo, tree);
    const id = file('big.bin').content[2]!;
    expect(repo.locateBlobAll(id)).toHaveLength(2);
    // Damage the copy the restoring instance will read: which of two copies an index lookup returns
    // depends on the order its index files were loaded in.
    const target = { packId: '', at: -1 };
    const opened = await Repository.open(flipping(store, target), pw);
    const loc = opened.locateBlob(id)!;
    Object.assign(target, { packId: loc.packId, at: loc.offset + 40 });
    const { repo: wrapped, calls } = counted(opened);
    const into = join(work, 'restore-healed');
    const result = await restoreTree(wrapped, tree, into, { from: src });
    expect(result.errors).toEqual([]);
    expect(result.verifiedFiles).toBe(65);
    expect(calls.loads).toBe(treeLoads + 1);
    await expectSameAsSource(into);
  });

  it('restores every blob of a missing pack from the other copies', async () => {
    const repo = await Repository.open(store, pw);
    const { file, blobs, treeLoads } = await snapshotFacts(repo, tree);
    const loc = repo.locateBlob(file('big.bin').content[0]!)!;
    const inPack = [...blobs].filter((id) => repo.locateBlob(id)!.packId === loc.packId);
    expect(inPack.length).toBeGreaterThan(1);
    await store.delete(objectKey('data', loc.packId));
    const { repo: wrapped, calls } = counted(repo);
    const target = join(work, 'restore-missing-pack');
    const result = await restoreTree(wrapped, tree, target, { from: src });
    expect(result.errors).toEqual([]);
    expect(calls.loads).toBe(treeLoads + inPack.length);
    await expectSameAsSource(target);
  });
});

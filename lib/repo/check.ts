// Repository verification, in the two depths restic offers:
// - structure: every index file loads; every pack an index lists exists with the listed size; every tree of
//   every (selected) snapshot decrypts and verifies, and every blob it references is indexed in an
//   existing pack;
// - read data (all packs, or a random percentage): download each pack, check its SHA-256 against its name,
//   parse its header, decrypt and re-hash every blob, and compare with the index.
// Problems are collected, not thrown, so one run reports all of them; `ok` is false when any was found.
// Packs that no index lists (left by an interrupted backup) are reported as notes, not errors.
import { getBuffer } from '../blob';
import { loadMasterIndex, type MasterIndex } from './index/index';
import { idFromKey, objectKey } from './layout';
import { sha256Hex } from './objects';
import { openBlobFromPack, readPackHeader } from './pack';
import type { Repository } from './repository';
import type { SnapshotEntry } from './snapshot';
import { decodeTree } from './tree';

export type CheckOptions = {
  /** Download and verify packs: 100 = all, 10 = a random tenth (at least one). 0/undefined = structure only. */
  readDataPercent?: number;
  /** Only these snapshots' trees (default all). */
  snapshots?: SnapshotEntry[];
  signal?: AbortSignal;
  onProgress?: (p: { step: string; done: number; total: number }) => void;
};

export type CheckResult = {
  ok: boolean;
  snapshots: number;
  trees: number;
  dataBlobs: number;
  packs: number;
  packsRead: number;
  bytesRead: number;
  errors: string[];
  notes: string[];
};

export async function checkRepository(repo: Repository, opts: CheckOptions = {}): Promise<CheckResult> {
  const { signal } = opts;
  const r: CheckResult = { ok: false, snapshots: 0, trees: 0, dataBlobs: 0, packs: 0, packsRead: 0, bytesRead: 0, errors: [], notes: [] };
  const index = await loadMasterIndex(repo.store, repo.masterKey, { signal });
  const stored = new Map<string, number>();
  for await (const e of repo.store.list('data/', { signal })) {
    const id = idFromKey('data', e.key);
    if (id) stored.set(id, e.size);
  }
  const indexed = [...index.packs()];
  r.packs = indexed.length;
  for (const p of indexed) {
    const size = stored.get(p.id);
    if (size === undefined) r.errors.push(`pack ${p.id} is listed in the index but missing from storage`);
    else if (size !== p.size) r.errors.push(`pack ${p.id} has ${size} bytes in storage, the index says ${p.size}`);
  }
  const unindexed = [...stored.keys()].filter((id) => !indexed.some((p) => p.id === id));
  if (unindexed.length) r.notes.push(`${unindexed.length} pack(s) are not in any index (left by an interrupted backup; reused or pruned later)`);

  const snapshots = opts.snapshots ?? (await repo.listSnapshots(signal));
  r.snapshots = snapshots.length;
  await checkTrees(repo, index, stored, snapshots, r, opts);
  if (opts.readDataPercent) await readData(repo, index, indexed.filter((p) => stored.has(p.id)), r, opts);
  r.ok = r.errors.length === 0;
  return r;
}

async function checkTrees(repo: Repository, index: MasterIndex, stored: Map<string, number>, snapshots: SnapshotEntry[], r: CheckResult, opts: CheckOptions) {
  const seenTrees = new Set<string>();
  const seenData = new Set<string>();
  const blobProblem = (id: string, what: string): string | null => {
    const loc = index.lookup(id);
    if (!loc) return `${what} ${id} is not in the index`;
    if (!stored.has(loc.packId)) return `${what} ${id} is in pack ${loc.packId}, which is missing`;
    return null;
  };
  const walk = async (treeId: string, path: string, snap: string): Promise<void> => {
    if (seenTrees.has(treeId)) return;
    seenTrees.add(treeId);
    const problem = blobProblem(treeId, 'tree');
    if (problem) {
      r.errors.push(`snapshot ${snap.slice(0, 8)}: ${path}: ${problem}`);
      return;
    }
    let nodes;
    try {
      nodes = decodeTree(await repo.loadBlob(treeId, opts.signal), `tree ${treeId}`).nodes;
    } catch (err) {
      r.errors.push(`snapshot ${snap.slice(0, 8)}: ${path}: ${(err as Error).message}`);
      return;
    }
    for (const node of nodes) {
      const child = `${path === '/' ? '' : path}/${node.name}`;
      if (node.type === 'dir') await walk(node.subtree, child, snap);
      if (node.type !== 'file') continue;
      for (const id of node.content) {
        if (seenData.has(id)) continue;
        seenData.add(id);
        const p = blobProblem(id, 'data blob');
        if (p) r.errors.push(`snapshot ${snap.slice(0, 8)}: ${child}: ${p}`);
      }
    }
  };
  for (const [i, s] of snapshots.entries()) {
    opts.onProgress?.({ step: 'checking snapshots', done: i, total: snapshots.length });
    await walk(s.snapshot.tree, '/', s.id);
  }
  r.trees = seenTrees.size;
  r.dataBlobs = seenData.size;
}

async function readData(repo: Repository, index: MasterIndex, packs: { id: string; size: number }[], r: CheckResult, opts: CheckOptions) {
  const percent = Math.min(100, Math.max(0, opts.readDataPercent ?? 0));
  const chosen = percent >= 100 ? packs : shuffle(packs).slice(0, Math.max(1, Math.ceil((packs.length * percent) / 100)));
  const expected = new Map<string, Map<string, number>>();
  for (const [id, loc] of index.entries()) {
    if (!expected.has(loc.packId)) expected.set(loc.packId, new Map());
    expected.get(loc.packId)!.set(id, loc.offset);
  }
  for (const [i, pack] of chosen.entries()) {
    opts.onProgress?.({ step: 'reading packs', done: i, total: chosen.length });
    const what = `pack ${pack.id}`;
    try {
      const bytes = await getBuffer(repo.store, objectKey('data', pack.id), { signal: opts.signal });
      r.bytesRead += bytes.length;
      if (sha256Hex(bytes) !== pack.id) {
        r.errors.push(`${what}: content does not match its name (SHA-256 differs): corrupted in storage`);
        continue;
      }
      const entries = await readPackHeader(repo.masterKey, bytes, what);
      for (const e of entries) openBlobFromPack(repo.masterKey, bytes.subarray(e.offset, e.offset + e.length), e.id, { pack: pack.id, rawLength: e.rawLength });
      const inHeader = new Map(entries.map((e) => [e.id, e.offset]));
      for (const [id, offset] of expected.get(pack.id) ?? []) {
        if (inHeader.get(id) !== offset) r.errors.push(`${what}: the index places blob ${id} at offset ${offset}, the pack header does not`);
      }
      r.packsRead++;
    } catch (err) {
      opts.signal?.throwIfAborted();
      r.errors.push(`${what}: ${(err as Error).message}`);
    }
  }
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

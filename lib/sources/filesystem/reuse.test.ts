// Incremental backups reuse what did not change: a node whose metadata matches the parent's is the parent's
// node, and a directory whose nodes all are is the parent's tree (not encoded, hashed or saved again). What
// did change (content, mode, a symlink's target, an entry added below) still makes new nodes and trees up
// to the root, and the restore shows it.
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { decodeTree, type TreeNode } from '../../repo/tree';
import { backupFilesystem } from './backup';
import { restoreTree } from './restorer';

let work: string;
let src: string;
let repo: Repository;
const treeSaves: string[] = [];
const source = { kind: 'filesystem' as const, name: 'reuse' };

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-reuse-'));
  src = join(work, 'src');
  await mkdir(join(src, 'a/deep'), { recursive: true });
  await mkdir(join(src, 'b'), { recursive: true });
  await writeFile(join(src, 'a/deep/f.txt'), 'deep one\n');
  await writeFile(join(src, 'a/g.txt'), 'g\n');
  await writeFile(join(src, 'b/h.txt'), 'h\n');
  await symlink('a/g.txt', join(src, 'link'));
  repo = await Repository.init(new LocalBlobStore(join(work, 'repo'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  const saveBlob = repo.saveBlob.bind(repo);
  repo.saveBlob = (type, data, signal, hints) => {
    if (type === 'tree') treeSaves.push(type);
    return saveBlob(type, data, signal, hints);
  };
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const backup = () => backupFilesystem(repo, { source, paths: [src] });

/** The node at `path` (relative to src) in a snapshot's tree. */
async function nodeAt(root: string, path: string): Promise<TreeNode> {
  let tree = root;
  const parts = [...src.split('/').filter(Boolean), ...path.split('/')];
  for (const [i, name] of parts.entries()) {
    const node = decodeTree(await repo.loadBlob(tree), 'tree').nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no ${name} in ${path}`);
    if (i === parts.length - 1) return node;
    if (node.type !== 'dir') throw new Error(`${name} is not a directory`);
    tree = node.subtree;
  }
  throw new Error('empty path');
}

it('reuses the parent tree for unchanged directories and re-encodes only the path to a change', async () => {
  const first = await backup();
  const dirs = first.snapshot.summary.dirs;
  expect(treeSaves.length).toBeGreaterThanOrEqual(dirs);

  treeSaves.length = 0;
  const same = await backup();
  expect(same.snapshot.tree).toBe(first.snapshot.tree);
  expect(treeSaves).toEqual([]); // not even encoded and offered to the store
  expect(same.snapshot.summary).toMatchObject({ unchangedFiles: 3, newBlobs: 0 });

  // A change deep down: the trees of a/deep, a, src and of the directories above src (/, /tmp...) are new;
  // b's is the parent's.
  await writeFile(join(src, 'a/deep/f.txt'), 'deep two\n');
  treeSaves.length = 0;
  const changed = await backup();
  expect(changed.snapshot.tree).not.toBe(first.snapshot.tree);
  expect(treeSaves.length).toBe(3 + src.split('/').filter(Boolean).length);
  const bBefore = await nodeAt(first.snapshot.tree, 'b');
  const bAfter = await nodeAt(changed.snapshot.tree, 'b');
  expect(bAfter).toEqual(bBefore);
  expect(await nodeAt(changed.snapshot.tree, 'a')).not.toEqual(await nodeAt(first.snapshot.tree, 'a'));

  const target = join(work, 'restore-1');
  await restoreTree(repo, changed.snapshot.tree, target, { from: src });
  expect(await readFile(join(target, 'a/deep/f.txt'), 'utf8')).toBe('deep two\n');
  expect(await readFile(join(target, 'b/h.txt'), 'utf8')).toBe('h\n');
});

it('records a mode change and a replaced symlink although sizes and times may match', async () => {
  const before = await backup();
  await chmod(join(src, 'b/h.txt'), 0o600);
  await rm(join(src, 'link'));
  await symlink('b/h.txt', join(src, 'link')); // same length as the old target
  const after = await backup();
  expect((await nodeAt(after.snapshot.tree, 'b/h.txt')).mode & 0o777).toBe(0o600);
  expect(await nodeAt(after.snapshot.tree, 'link')).toMatchObject({ type: 'symlink', linkTarget: 'b/h.txt' });
  expect(await nodeAt(before.snapshot.tree, 'link')).toMatchObject({ linkTarget: 'a/g.txt' });

  const target = join(work, 'restore-2');
  await restoreTree(repo, after.snapshot.tree, target, { from: src });
  expect((await stat(join(target, 'b/h.txt'))).mode & 0o777).toBe(0o600);
  expect(await readlink(join(target, 'link'))).toBe('b/h.txt');
});

it('with --full builds every node and tree again, and still gives the same tree for the same data', async () => {
  const incremental = await backup();
  treeSaves.length = 0;
  const full = await backupFilesystem(repo, { source, paths: [src], full: true });
  expect(treeSaves.length).toBeGreaterThanOrEqual(full.snapshot.summary.dirs);
  expect(full.snapshot.tree).toBe(incremental.snapshot.tree);
});

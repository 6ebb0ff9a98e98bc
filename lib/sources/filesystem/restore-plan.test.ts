// The restore plan is walked as the restore goes: the walk loads trees ahead of it only so far, yields
// directories before what is in them, in tree order, and tells later names of an inode from its first.
import { link, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { backupFilesystem } from './backup';
import { walkRestorePlan, type PlanItem } from './restore-plan';

const DIRS = 150;
let work: string;
let repo: Repository;
let tree: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-restore-plan-'));
  src = join(work, 'src');
  for (let i = 0; i < DIRS; i++) {
    const dir = join(src, `d${String(i).padStart(3, '0')}`);
    await mkdir(join(dir, 'inner'), { recursive: true });
    await writeFile(join(dir, 'a.txt'), `dir ${i}\n`);
    await writeFile(join(dir, 'inner', 'b.txt'), `inner ${i}\n`);
  }
  await link(join(src, 'd000/a.txt'), join(src, 'd149/inner/link-to-d000-a.txt'));
  repo = await Repository.init(new LocalBlobStore(join(work, 'repo'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  ({ snapshot: { tree } } = await backupFilesystem(repo, { source: { kind: 'filesystem', name: 'plan' }, paths: [src] }));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The repository as the walk sees it, counting tree loads. */
function countingLoads() {
  const counter = { loads: 0 };
  return { counter, source: { loadBlob: (id: string, signal?: AbortSignal) => (counter.loads++, repo.loadBlob(id, signal)) } };
}

describe('walkRestorePlan', () => {
  it('loads trees only a bounded way ahead of what it has yielded', async () => {
    const { counter, source } = countingLoads();
    const walk = walkRestorePlan(source, tree, '/restore', src);
    const firstItems: PlanItem[] = [];
    for (let i = 0; i < 3; i++) firstItems.push((await walk.next()).value as PlanItem);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let loads ahead of the walk finish
    // 2 trees per directory (d*, d*/inner): all of them would be 300 plus the ones above src.
    expect(counter.loads).toBeLessThan(100);
    expect(firstItems.map((i) => i.kind)).toEqual(['dir', 'file', 'dir']); // d000, d000/a.txt, d000/inner
    await walk.return();
  });

  it('yields every node once, directories before their contents, in tree order', async () => {
    const { counter, source } = countingLoads();
    const items: PlanItem[] = [];
    for await (const item of walkRestorePlan(source, tree, '/restore', src)) items.push(item);
    const pathOf = (i: PlanItem) => (i.kind === 'dir' ? i.dir.path : i.kind === 'file' ? i.file.path : i.kind === 'link' ? i.link.path : i.other.path);
    const paths = items.map(pathOf);
    expect(new Set(paths).size).toBe(paths.length);
    expect(items.filter((i) => i.kind === 'dir')).toHaveLength(2 * DIRS);
    expect(items.filter((i) => i.kind === 'file')).toHaveLength(2 * DIRS);
    expect(paths.slice(0, 4)).toEqual(['/restore/d000', '/restore/d000/a.txt', '/restore/d000/inner', '/restore/d000/inner/b.txt']);
    for (const [i, item] of items.entries()) {
      const parent = item.kind === 'dir' ? item.dir.parent : item.kind === 'file' ? item.file.parent : undefined;
      if (parent) expect(paths.indexOf(parent.path)).toBeLessThan(i);
    }
    const links = items.filter((i) => i.kind === 'link');
    expect(links.map((l) => [l.link.path, l.first.path])).toEqual([['/restore/d149/inner/link-to-d000-a.txt', '/restore/d000/a.txt']]);
    expect(counter.loads).toBe(src.split('/').length - 1 + 1 + 2 * DIRS); // the path to src, src, every directory
  });
});

// The archiver stores large changed files while its walk goes on: a file streamed through the chunk worker
// must not hold up the directories after it. Observed by holding one large file's chunks back until the
// walk has stored the small file of the last directory (a walk that waited for the large file would never
// get there: the hold gives up after 5 s and the test fails; small files are read ahead of the walk, but
// stored by it). The restore then shows every node in its place.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { backupFilesystem } from './backup';
import { restoreTree } from './restorer';

let work: string;
let src: string;
const dirs = ['a', 'b', 'c', 'd', 'e', 'f'];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-large-files-'));
  src = join(work, 'src');
  for (const d of dirs) {
    await mkdir(join(src, d, 'sub'), { recursive: true });
    await writeFile(join(src, d, 'small.txt'), `small ${d}\n`);
    await writeFile(join(src, d, 'sub', 'deeper.txt'), `deeper ${d}\n`);
  }
  // Large files (streamed through the cutter: past the 512 KiB minimum chunk) sorted between small ones.
  await writeFile(join(src, 'a', 'big.bin'), randomBytes(1536 * 1024));
  await writeFile(join(src, 'c', 'big.bin'), randomBytes(700 * 1024));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('walks on while a large changed file is stored, and puts its node in place', async () => {
  const repo = await Repository.init(new LocalBlobStore(join(work, 'repo'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  const source = { kind: 'filesystem' as const, name: 'large-files' };
  await backupFilesystem(repo, { source, paths: [src] });
  for (const d of dirs) await writeFile(join(src, d, 'small.txt'), `changed ${d}\n`);
  await writeFile(join(src, 'a', 'big.bin'), randomBytes(1536 * 1024));

  let releaseHold!: (why: string) => void;
  const hold = new Promise<string>((resolve) => (releaseHold = resolve));
  const timer = setTimeout(() => releaseHold('timed out'), 5000);
  const saveBlob = repo.saveBlob.bind(repo);
  repo.saveBlob = (type, data, signal, hints) => {
    if (type === 'data' && data.toString() === 'changed f\n') releaseHold('the walk reached f');
    return saveBlob(type, data, signal, hints);
  };
  const hashedChunks = repo.hashedChunks.bind(repo);
  repo.hashedChunks = (what, signal) => {
    const chunks = hashedChunks(what, signal);
    if (!('path' in what) || what.path !== join(src, 'a', 'big.bin')) return chunks;
    return (async function* () {
      expect(await hold).toBe('the walk reached f');
      yield* chunks;
    })();
  };
  const { snapshot } = await backupFilesystem(repo, { source, paths: [src] });
  clearTimeout(timer);
  expect(await hold).toBe('the walk reached f');
  expect(snapshot.status).toBe('complete');
  expect(snapshot.summary).toMatchObject({ changedFiles: 7, unchangedFiles: 7 });

  const target = join(work, 'restored');
  await restoreTree(repo, snapshot.tree, target);
  const restored = join(target, src);
  for (const d of dirs) {
    expect(await readFile(join(restored, d, 'small.txt'), 'utf8')).toBe(`changed ${d}\n`);
    expect(await readFile(join(restored, d, 'sub', 'deeper.txt'), 'utf8')).toBe(`deeper ${d}\n`);
  }
  for (const big of ['a/big.bin', 'c/big.bin']) expect((await readFile(join(restored, big))).equals(await readFile(join(src, big)))).toBe(true);
});

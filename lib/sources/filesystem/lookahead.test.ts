// The archiver lists subdirectories and pre-reads their changed small files ahead of its walk: without
// it each directory's first changed file waited for its own read round trip. Observed through the order
// of the calls: the directory lister's listings (on its worker thread) are recorded as readdirs, and the
// repository's small-file reads (on its chunk worker thread) as opens.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { backupFilesystem } from './backup';
import { dirLister } from './dir-lister';

const calls = { log: [] as string[], under: '' };
const record = (op: string, path: string) => {
  if (calls.under && path.startsWith(calls.under)) calls.log.push(`${op} ${path.slice(calls.under.length)}`);
};
const lister = dirLister();
const list = lister.list.bind(lister);
lister.list = (dir, statFirst) => (record('readdir', dir), list(dir, statFirst));

let work: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-lookahead-'));
  src = join(work, 'src');
  for (let d = 0; d < 12; d++) {
    await mkdir(join(src, `d${String(d).padStart(2, '0')}`), { recursive: true });
    await writeFile(join(src, `d${String(d).padStart(2, '0')}`, 'f.txt'), `file ${d}\n`);
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('lists the next subdirectories and pre-reads their changed files before the walk reaches them', async () => {
  const repo = await Repository.init(new LocalBlobStore(join(work, 'repo'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  const smallFile = repo.smallFile.bind(repo);
  repo.smallFile = (path, limit) => (record('open', path), smallFile(path, limit));
  const source = { kind: 'filesystem' as const, name: 'lookahead' };
  await backupFilesystem(repo, { source, paths: [src] });
  for (let d = 0; d < 12; d += 2) await writeFile(join(src, `d${String(d).padStart(2, '0')}`, 'f.txt'), `changed ${d}\n`);

  calls.under = `${src}/`;
  calls.log.length = 0;
  const { snapshot } = await backupFilesystem(repo, { source, paths: [src] });
  calls.under = '';
  expect(snapshot.summary).toMatchObject({ changedFiles: 6, unchangedFiles: 6 });

  const firstOpen = calls.log.findIndex((c) => c.startsWith('open '));
  expect(firstOpen).toBeGreaterThan(0);
  // Before the first changed file is opened, the next directories (not only d00) have been listed...
  const listedBefore = calls.log.slice(0, firstOpen).filter((c) => c.startsWith('readdir ')).length;
  expect(listedBefore).toBeGreaterThanOrEqual(8);
  // ...and the changed files of d02 and d04 are opened before the walk has listed d09 and beyond.
  const at = (c: string) => calls.log.indexOf(c);
  expect(at('open d02/f.txt')).toBeGreaterThan(-1);
  expect(at('open d02/f.txt')).toBeLessThan(at('readdir d10'));
  // Each changed file is read once, each directory listed once.
  expect(calls.log.filter((c) => c === 'open d02/f.txt')).toHaveLength(1);
  expect(calls.log.filter((c) => c === 'readdir d02')).toHaveLength(1);
});

// File names that are not valid UTF-8 (Linux allows any bytes) cannot be held by a tree (format §9.2):
// the backup reports each, its bad bytes shown as \xNN, stores everything else and is marked partial.
// A valid name that merely contains U+FFFD (what node's decoding turns bad bytes into) is stored as is.
import { writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { backupFilesystem } from './backup';
import { restoreTree } from './restorer';

let work: string;
let src: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-names-'));
  src = join(work, 'src');
  await mkdir(join(src, 'sub'), { recursive: true });
  writeFileSync(Buffer.concat([Buffer.from(`${src}/sub/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('-name')]), 'lost');
  writeFileSync(join(src, 'sub', 'replacement-\uFFFD-char'), 'kept');
  writeFileSync(join(src, 'sub', 'plain'), 'kept too');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('reports names that are not UTF-8 with their bytes escaped, and stores the rest', async () => {
  const repo = await Repository.init(new LocalBlobStore(join(work, 'repo'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  const { snapshot } = await backupFilesystem(repo, { source: { kind: 'filesystem', name: 'names' }, paths: [src] });
  expect(snapshot.status).toBe('partial');
  expect(snapshot.summary.errors).toEqual([
    { path: `${src}/sub/bad-\\xff\\xfe-name`, message: expect.stringContaining('not valid UTF-8') },
  ]);
  expect(snapshot.summary.files).toBe(2);

  const target = join(work, 'restored');
  const result = await restoreTree(repo, snapshot.tree, target, { from: src });
  expect(result.errors).toEqual([]);
  expect(await readFile(join(target, 'sub', 'replacement-\uFFFD-char'), 'utf8')).toBe('kept');
  expect(await readFile(join(target, 'sub', 'plain'), 'utf8')).toBe('kept too');
});

it('says nothing of an excluded one', async () => {
  const repo = await Repository.init(new LocalBlobStore(join(work, 'repo-excluded'), { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  const { snapshot } = await backupFilesystem(repo, { source: { kind: 'filesystem', name: 'names' }, paths: [src], excludes: ['bad-*'] });
  expect(snapshot.summary.errors).toEqual([]);
  expect(snapshot.status).toBe('complete');
});

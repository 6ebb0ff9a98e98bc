// An incremental backup loads the parent's trees ahead of its walk, several at a time, instead of one
// round trip per directory in a row (measured on a local store whose reads take 30 ms).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore, type BlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { backupFilesystem } from './backup';

let work: string;
let src: string;

function slowGets(inner: BlobStore, ms: number): BlobStore & { inFlight: number; maxInFlight: number } {
  const s = {
    inFlight: 0,
    maxInFlight: 0,
    put: inner.put.bind(inner),
    head: inner.head.bind(inner),
    list: inner.list.bind(inner),
    delete: inner.delete.bind(inner),
    describe: inner.describe.bind(inner),
    async get(key: string, opts?: Parameters<BlobStore['get']>[1]) {
      s.inFlight++;
      s.maxInFlight = Math.max(s.maxInFlight, s.inFlight);
      try {
        await new Promise((r) => setTimeout(r, ms));
        return await inner.get(key, opts);
      } finally {
        s.inFlight--;
      }
    },
  };
  return s;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-parent-trees-'));
  src = join(work, 'src');
  for (let d = 0; d < 16; d++) {
    await mkdir(join(src, `d${d}`), { recursive: true });
    await writeFile(join(src, `d${d}`, 'f.txt'), `file ${d}\n`);
  }
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

it('loads parent trees concurrently, and the incremental result is still complete', async () => {
  const store = slowGets(new LocalBlobStore(join(work, 'repo'), { fsync: false }), 30);
  const source = { kind: 'filesystem' as const, name: 'prefetch' };
  await backupFilesystem(await Repository.init(store, { passphrase: 'pw' }, { kdf: { N: 1024 } }), { source, paths: [src] });
  const repo = await Repository.open(store, { passphrase: 'pw' });
  store.maxInFlight = 0;
  const { snapshot } = await backupFilesystem(repo, { source, paths: [src] });
  expect(snapshot.summary.unchangedFiles).toBe(16);
  expect(snapshot.summary.newFiles + snapshot.summary.changedFiles).toBe(0);
  expect(store.maxInFlight).toBeGreaterThanOrEqual(4);
});

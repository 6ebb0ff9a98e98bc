// withPrefetchedListings: the first list of a prefetched prefix is the listing started when the wrapper was
// made (so it overlaps whatever the caller did meanwhile); later lists, other prefixes and resumed listings
// are live; a failed prefetch is listed again instead of failing the caller.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LocalBlobStore } from './local';
import { withPrefetchedListings } from './prefetch';
import type { BlobStore } from './types';

let dir: string;
let store: LocalBlobStore;
const keys = async (s: BlobStore, prefix: string, startAfter?: string) => {
  const out: string[] = [];
  for await (const e of s.list(prefix, { startAfter })) out.push(e.key);
  return out;
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-prefetch-'));
  store = new LocalBlobStore(dir, { fsync: false });
  for (const k of ['index/a', 'index/b', 'snapshots/s1', 'locks/l1']) await store.put(k, () => Buffer.from(k));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

it('serves the first listing of each prefix from the early one, then lists live', async () => {
  let lists = 0;
  const counting: BlobStore = { ...store, list: (p, o) => (lists++, store.list(p, o)), put: store.put.bind(store), get: store.get.bind(store), head: store.head.bind(store), delete: store.delete.bind(store), describe: () => 'counting' };
  const early = withPrefetchedListings(counting, ['index/', 'snapshots/']);
  expect(lists).toBe(2); // both started at once
  await store.put('index/c', () => Buffer.from('c')); // after the early listing began
  const first = await keys(early, 'index/');
  expect(lists).toBe(2); // no new listing
  expect(first.slice(0, 2)).toEqual(['index/a', 'index/b']);
  expect(await keys(early, 'index/')).toEqual(['index/a', 'index/b', 'index/c']); // live now
  expect(lists).toBe(3);
  expect(await keys(early, 'snapshots/')).toEqual(['snapshots/s1']);
  expect(await keys(early, 'locks/')).toEqual(['locks/l1']); // never prefetched: live
  expect(await keys(withPrefetchedListings(counting, ['index/']), 'index/', 'index/a')).toEqual(['index/b', 'index/c']); // resumed: live
});

it('lists live when the early listing failed', async () => {
  let calls = 0;
  const flaky: BlobStore = {
    ...store, put: store.put.bind(store), get: store.get.bind(store), head: store.head.bind(store), delete: store.delete.bind(store), describe: () => 'flaky',
    list: (p, o) => (++calls === 1 ? (async function* () { throw new Error('connection reset'); })() : store.list(p, o)),
  };
  const early = withPrefetchedListings(flaky, ['snapshots/']);
  expect(await keys(early, 'snapshots/')).toEqual(['snapshots/s1']);
  expect(calls).toBe(2);
});

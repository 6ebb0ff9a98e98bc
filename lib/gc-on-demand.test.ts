// Forced collections, counted by node's own GC performance entries (flag "forced"). collectEvery: a minor
// one per `everyBytes`, and a full one every `majorEvery`-th time. collectWhenGrown: a full one when the
// heap grows, none while it holds steady or once stopped.
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { expect, it } from 'vitest';
import { collectEvery, collectWhenGrown } from './gc-on-demand.mjs';

async function forcedCollections(run: () => void): Promise<{ minor: number; major: number }> {
  const seen: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => seen.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  run();
  await new Promise((r) => setTimeout(r, 50)); // entries are delivered asynchronously
  observer.disconnect();
  const detail = (e: PerformanceEntry) => (e as PerformanceEntry & { detail: { kind: number; flags: number } }).detail;
  const forced = seen.filter((e) => (detail(e).flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) !== 0);
  const kind = (e: PerformanceEntry) => detail(e).kind;
  return {
    minor: forced.filter((e) => kind(e) === constants.NODE_PERFORMANCE_GC_MINOR).length,
    major: forced.filter((e) => kind(e) === constants.NODE_PERFORMANCE_GC_MAJOR).length,
  };
}

it('collects once per everyBytes, a full collection every majorEvery-th time', async () => {
  const counter = collectEvery(1000, { majorEvery: 4 });
  const counts = await forcedCollections(() => {
    for (let i = 0; i < 8; i++) counter(1000); // 8 collections
    counter(500); // not yet
  });
  expect(counts).toEqual({ minor: 6, major: 2 });
});

it('makes every collection a full one by default', async () => {
  const counter = collectEvery(100);
  expect(await forcedCollections(() => [100, 50, 50, 99].forEach(counter))).toEqual({ minor: 0, major: 2 });
});

it('collectWhenGrown forces a full collection once the heap has grown, and none while it holds steady', async () => {
  const kept: unknown[] = [];
  let stop = () => {};
  const counts = await forcedCollections(() => {
    stop = collectWhenGrown({ growth: 0.1, slackBytes: 4e6, everyMs: 5 });
  });
  expect(counts.major).toBe(0); // nothing grew yet
  const grown = await forcedCollections(() => {
    for (let i = 0; i < 200_000; i++) kept.push({ i, s: `item ${i}` }); // ~20 MB that stays
  });
  expect(grown.major).toBeGreaterThanOrEqual(1);
  const steady = await forcedCollections(() => {}); // the collection reset its base: the heap holds
  expect(steady.major).toBe(0);
  stop();
  for (let i = 0; i < 200_000; i++) kept.push({ i, s: `more ${i}` });
  expect((await forcedCollections(() => {})).major).toBe(0); // stopped
  expect(kept.length).toBe(400_000);
});

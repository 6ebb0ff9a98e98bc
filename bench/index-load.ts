// What merging index files buys: the time to load the master index from a local RADOS Gateway with no
// cache (a restore on a fresh machine, the disaster case), before and after `compactIndex`.
//   npx tsx bench/index-load.ts [--files 200] [--blobs 300]
// --files index files of --blobs blobs each stand for that many backups' index files.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startRgw as startRgwJs } from '../scripts/services/rgw.mjs';
import { generateMasterKey } from '../lib/repo/crypto/master-key';
import { compactIndex, loadMasterIndex, writeIndexForPacks, type StoredPack } from '../lib/repo/index';
import { bucketStore, dropBucket, type Rgw } from './storage';

const startRgw = startRgwJs as unknown as (opts: { log?: (m: string) => void }) => Promise<Rgw>;
const { values } = parseArgs({ options: { files: { type: 'string', default: '200' }, blobs: { type: 'string', default: '300' } } });
const files = Number(values.files);
const blobsPerFile = Number(values.blobs);
const hex = () => randomBytes(32).toString('hex');

function fakePack(n: number): StoredPack {
  return { id: hex(), size: n * 70_000 + 200, entries: Array.from({ length: n }, (_, i) => ({ id: hex(), type: 'data' as const, offset: i * 70_000, length: 70_000, rawLength: 90_000 })) };
}

async function timeLoads(load: () => Promise<number>, rounds = 3): Promise<{ seconds: number; blobs: number }> {
  const times: number[] = [];
  let blobs = 0;
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    blobs = await load();
    times.push((performance.now() - t) / 1000);
  }
  return { seconds: times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!, blobs };
}

const rgw = await startRgw({ log: () => {} });
const bucket = `bench-index-${Date.now().toString(36)}`;
const store = bucketStore(rgw, bucket);
try {
  await store.ensureBucket();
  const key = generateMasterKey();
  for (let i = 0; i < files; i++) await writeIndexForPacks(store, key, [fakePack(Math.ceil(blobsPerFile / 2)), fakePack(Math.floor(blobsPerFile / 2))]);
  const load = async () => (await loadMasterIndex(store, key)).size;
  const before = await timeLoads(load);
  const t = performance.now();
  const merged = await compactIndex(store, key);
  const mergeS = (performance.now() - t) / 1000;
  const after = await timeLoads(load);
  if (after.blobs !== before.blobs) throw new Error(`merge changed the index: ${before.blobs} blobs before, ${after.blobs} after`);
  const row = (label: string, n: number, r: { seconds: number }) => `| ${label} | ${n} | ${r.seconds.toFixed(3)} s |`;
  console.log(`index load from radosgw, no cache, ${before.blobs} blobs (median of 3)\n`);
  console.log('| index | files | load |\n|---|---|---|');
  console.log(row('before merging', merged.before, before));
  console.log(row('after merging', merged.after, after));
  console.log(`\nmerge took ${mergeS.toFixed(2)} s; load after/before ${(after.seconds / before.seconds).toFixed(2)}`);
} finally {
  await dropBucket(rgw, bucket).catch(() => {});
  store.destroy();
  await rgw.stop();
}

// Smoke test for scripts/services: starts a private PostgreSQL (temp dataDir, free port), a private Redis
// (free port), a throwaway Ceph RADOS Gateway (with a GLACIER storage class) and finds Chromium; exercises
// each briefly, prints URLs and timings, stops everything and checks nothing it started is left running.
// Usage: node scripts/services/smoke.mjs      (exit code 0 = all good)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensurePostgres, createDatabase, dropDatabase } from './postgres.mjs';
import { ensureRedis, redisCommand } from './redis.mjs';
import { startRgw } from './rgw.mjs';
import { ensureChromium } from './chromium.mjs';
import { freePort } from './util.mjs';

const log = (m) => console.log(`  | ${m}`);
const timed = async (name, fn) => {
  const t0 = Date.now();
  const v = await fn();
  console.log(`${name.padEnd(28)} ${((Date.now() - t0) / 1000).toFixed(2)}s`);
  return v;
};

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-smoke-'));
const stops = [];
let redisPort;
let failed = false;
try {
  // Started concurrently, as the test runner would.
  const settled = await Promise.allSettled([
    timed('postgres start', async () => ensurePostgres({ dataDir: path.join(tmp, 'pg'), port: await freePort(), log })),
    timed('redis start', async () => ensureRedis({ dataDir: path.join(tmp, 'redis'), port: (redisPort = await freePort()), log })),
    timed('rgw start', () => startRgw({ dataDir: tmp, log, storageClasses: ['GLACIER'] })),
    timed('chromium', () => ensureChromium({ log })),
  ]);
  ['postgres', 'redis', 'rgw'].forEach((name, i) => settled[i].status === 'fulfilled' && stops.push([name, settled[i].value.stop]));
  const bad = settled.find((r) => r.status === 'rejected');
  if (bad) throw bad.reason;
  const [pgSvc, redis, rgw, chromium] = settled.map((r) => r.value);
  console.log(`postgres ${pgSvc.url} started=${pgSvc.started}`);
  console.log(`redis    ${redis.url} started=${redis.started}`);
  console.log(`rgw      ${rgw.endpoint} region=${rgw.region} key=${rgw.accessKeyId}`);
  console.log(`chromium ${chromium}`);

  await timed('postgres exercise', async () => {
    const dbUrl = await createDatabase(pgSvc.url, 'lifeboat_smoke');
    const c = new pg.Client({ connectionString: dbUrl });
    await c.connect();
    const { rows } = await c.query('select version() as v, inet_server_addr() as a');
    await c.end();
    await dropDatabase(pgSvc.url, 'lifeboat_smoke');
    log(`${rows[0].v.split(' on ')[0]} at ${rows[0].a}`);
  });
  await timed('redis exercise', async () => {
    await redisCommand(redis.url, ['SET', 'smoke', 'ok']);
    if ((await redisCommand(redis.url, ['GET', 'smoke'])) !== 'ok') throw new Error('redis GET returned the wrong value');
  });
  await timed('rgw exercise', async () => {
    const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand, HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      endpoint: rgw.endpoint,
      region: rgw.region,
      credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const Bucket = 'smoke-bucket';
    const body = randomBytes(3 * 1024 * 1024);
    await s3.send(new CreateBucketCommand({ Bucket }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'std', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket, Key: 'cold', Body: body, StorageClass: 'GLACIER' }));
    const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket, Key: 'std' }))).Body.transformToByteArray());
    const sha = (b) => createHash('sha256').update(b).digest('hex');
    if (sha(got) !== sha(body)) throw new Error('rgw returned different bytes than were stored');
    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'cold' }));
    if (head.StorageClass !== 'GLACIER') throw new Error(`storage class GLACIER not kept (got ${head.StorageClass})`);
    s3.destroy();
    log('3 MiB object round-trip ok, GLACIER storage class ok');
  });
} catch (e) {
  failed = true;
  console.error(`SMOKE FAILED: ${e.stack || e.message}`);
} finally {
  for (const [name, stop] of stops.reverse()) {
    await timed(`${name} stop`, stop).catch((e) => {
      failed = true;
      console.error(`stopping ${name} failed: ${e.message}`);
    });
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

// Anything still running that refers to our temp dir is a leak.
await new Promise((r) => setTimeout(r, 300));
const leftovers = fs
  .readdirSync('/proc')
  .filter((p) => /^\d+$/.test(p))
  .map((p) => {
    try {
      return [p, fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')];
    } catch {
      return null;
    }
  })
  .filter((x) => x && (x[1].includes(tmp) || (redisPort && x[1].includes(`redis-server 127.0.0.1:${redisPort}`))));
if (leftovers.length) {
  failed = true;
  console.error(`LEFTOVER processes:\n${leftovers.map(([p, c]) => `  ${p} ${c}`).join('\n')}`);
} else {
  console.log(`no leftover processes (checked /proc for ${tmp} and redis-server 127.0.0.1:${redisPort})`);
}
console.log(failed ? 'SMOKE: FAILED' : 'SMOKE: OK');
process.exit(failed ? 1 : 0);

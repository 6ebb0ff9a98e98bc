// The worker as a real process against real Postgres, Redis, a local directory and the RADOS Gateway:
// check jobs round-trip, failures are recorded with their reason, stale runs are settled at start-up,
// and SIGTERM stops it cleanly.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../lib/db/client';
import { checkStorageTargetJob } from '../lib/jobs/check-storage-target';
import { enqueueJob } from '../lib/jobs/enqueue';
import { producerConnection } from '../lib/jobs/connection';
import { sealSecret } from '../lib/secrets/secret-box';

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this suite through \`npm test\`, which starts the services`);
  return v;
}

let db: Db;
let worker: ChildProcess;
let workerLog = '';
const dir = mkdtempSync(join(tmpdir(), 'lifeboat-worker-test-'));
const suffix = Date.now().toString(36);

function startWorker(): ChildProcess {
  const child = spawn('node_modules/.bin/tsx', ['worker/main.ts'], { env: { ...process.env, LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (workerLog += d));
  child.stderr!.on('data', (d) => (workerLog += d));
  return child;
}

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}\nworker log:\n${workerLog.slice(-3000)}`);
}

async function runCheck(storageTargetId: string) {
  const { jobRunId } = await enqueueJob(db, checkStorageTargetJob, { storageTargetId }, { storageTargetId });
  return waitFor(async () => {
    const run = await db.jobRun.findUnique({ where: { id: jobRunId } });
    return run && ['succeeded', 'failed'].includes(run.status) ? run : null;
  }, `job ${jobRunId}`);
}

beforeAll(async () => {
  db = createDb(requireEnv('DATABASE_URL'));
  requireEnv('REDIS_URL');
  // A run left "running" by a dead worker, with no BullMQ job behind it.
  await db.jobRun.create({ data: { id: `stale-${suffix}`, kind: 'check_storage_target', status: 'running', startedAt: new Date() } });
  worker = startWorker();
  await waitFor(async () => workerLog.includes('worker ready'), 'worker ready');
});

afterAll(async () => {
  if (worker.exitCode === null) worker.kill('SIGKILL');
  producerConnection().disconnect();
  await db.$disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('worker', () => {
  it('settles runs left running by a stopped worker', async () => {
    const stale = await db.jobRun.findUniqueOrThrow({ where: { id: `stale-${suffix}` } });
    expect(stale.status).toBe('failed');
    expect(stale.error).toMatch(/stopped before it finished/);
  });

  it('checks a local directory target and records latency on the target', async () => {
    const target = await db.storageTarget.create({ data: { name: `local-${suffix}`, kind: 'local', path: join(dir, 'store') } });
    const run = await runCheck(target.id);
    expect(run.status).toBe('succeeded');
    expect(run.progress).toBe(1);
    expect((run.result as { ok: boolean }).ok).toBe(true);
    const after = await db.storageTarget.findUniqueOrThrow({ where: { id: target.id } });
    expect(after.lastCheckOk).toBe(true);
    expect(after.lastCheckLatencyMs).toBeGreaterThanOrEqual(0);
  });

  it('checks an S3 target on the RADOS Gateway', async () => {
    const target = await db.storageTarget.create({
      data: {
        name: `rgw-${suffix}`,
        kind: 's3',
        endpoint: requireEnv('LIFEBOAT_TEST_S3_ENDPOINT'),
        region: process.env.LIFEBOAT_TEST_S3_REGION ?? 'us-east-1',
        bucket: `worker-check-${suffix}`,
        accessKeyId: requireEnv('LIFEBOAT_TEST_S3_ACCESS_KEY_ID'),
        secretAccessKeyEnc: sealSecret(requireEnv('LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY'), requireEnv('LIFEBOAT_SECRET_KEY')),
      },
    });
    const run = await runCheck(target.id);
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const result = run.result as { latencyMs: { put: number; get: number; list: number; delete: number } };
    for (const op of ['put', 'get', 'list', 'delete'] as const) expect(result.latencyMs[op]).toBeGreaterThan(0);
  });

  it('records a failed check with a reason naming the endpoint', async () => {
    const target = await db.storageTarget.create({
      data: {
        name: `bad-${suffix}`,
        kind: 's3',
        endpoint: requireEnv('LIFEBOAT_TEST_S3_ENDPOINT'),
        region: 'us-east-1',
        bucket: `worker-bad-${suffix}`,
        accessKeyId: requireEnv('LIFEBOAT_TEST_S3_ACCESS_KEY_ID'),
        secretAccessKeyEnc: sealSecret('wrong-secret', requireEnv('LIFEBOAT_SECRET_KEY')),
      },
    });
    const run = await runCheck(target.id);
    expect(run.status).toBe('failed');
    expect(run.error).toBeTruthy();
    const after = await db.storageTarget.findUniqueOrThrow({ where: { id: target.id } });
    expect(after.lastCheckOk).toBe(false);
    expect(after.lastCheckError).toBe(run.error);
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((r) => worker.on('exit', (code) => r(code)));
    worker.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(workerLog).toContain('worker stopped');
  });
});

// Faults the CLI must survive, against a local directory and the RADOS Gateway (the S3 suite FAILS without
// LIFEBOAT_TEST_S3_*): kill -9 in the middle of a backup leaves no restore point and the next run reuses
// the packs already uploaded; incomplete multipart uploads are aborted only once they are old; an
// unreachable endpoint or a missing bucket gives a clear error, the right exit code, quickly.
import { CreateMultipartUploadCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../lib/blob';
import { S3BlobStore } from '../../lib/blob/s3';
import { forEachBackend, s3TestEnv } from '../../lib/repo/keys/test-support';
import { abortAllUploads, CLI, cleanEnv, closedPort, lifeboat, lifeboatJson, multipartUploads, repoEnv, writeRandomFile } from './test-support';

const MiB = 1024 * 1024;
/** Ten 16 MiB packs: enough to kill the backup after its first pack with most of the work still to do. */
const SIZE = 160 * MiB;

let work: string;
let bigDir: string;
let smallDir: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-cli-faults-'));
  bigDir = join(work, 'big');
  smallDir = join(work, 'small');
  await mkdir(bigDir);
  await mkdir(smallDir);
  writeRandomFile(join(bigDir, 'random.bin'), SIZE);
  await writeFile(join(smallDir, 'a.txt'), 'a\n');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function countPacks(store: BlobStore): Promise<number> {
  let n = 0;
  for await (const e of store.list('data/')) if (/^data\/[0-9a-f]{2}\/[0-9a-f]{64}$/.test(e.key)) n++;
  return n;
}

forEachBackend((backend, fresh) => {
  it(`kill -9 during a ${SIZE / MiB} MiB backup leaves no restore point; the next backup reuses the uploaded packs and verifies`, async () => {
    const store = await fresh();
    const env = repoEnv(store);
    try {
      await lifeboatJson(['--json', 'init'], env);
      const child = spawn(process.execPath, [CLI, 'backup', '--source-name', 'big', bigDir], { env: cleanEnv(env) as NodeJS.ProcessEnv, stdio: 'ignore' });
      let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
      const exited = new Promise<void>((done) => child.on('exit', (code, signal) => ((exit = { code, signal }), done())));
      const deadline = Date.now() + 60_000;
      while ((await countPacks(store)) === 0) {
        if (exit) throw new Error(`the backup ended (${exit.code ?? exit.signal}) before any pack was seen`);
        if (Date.now() > deadline) throw new Error('no pack appeared within 60 s');
        await sleep(20);
      }
      child.kill('SIGKILL');
      await exited;
      expect(exit, 'the backup was still running when killed').toEqual({ code: null, signal: 'SIGKILL' });
      const packsAfterKill = await countPacks(store);
      expect(packsAfterKill).toBeLessThan(SIZE / (16 * MiB));
      expect(await lifeboatJson(['--json', 'snapshots'], env)).toEqual([]);
      const leftUploads = store instanceof S3BlobStore ? (await multipartUploads(store)).length : 0;

      const again = await lifeboatJson(['--json', 'backup', '--source-name', 'big', bigDir], { ...env, LIFEBOAT_STALE_UPLOAD_AGE: '0s' });
      expect(again).toMatchObject({ status: 'complete', summary: { files: 1, bytes: SIZE } });
      expect(again.housekeeping.leftoverPacks).toBe(packsAfterKill);
      // A part or upload the killed process had in flight may still land after the listing above.
      expect(again.housekeeping.abortedUploads).toBeGreaterThanOrEqual(leftUploads);
      expect(again.summary.addedBytes, 'data already uploaded is not uploaded again').toBeLessThan(SIZE - packsAfterKill * 15 * MiB);
      if (store instanceof S3BlobStore) expect(await multipartUploads(store)).toEqual([]);

      const stats = await lifeboatJson(['--json', 'stats'], env);
      expect(stats).toMatchObject({ snapshots: 1, unindexedPacks: 0 });
      expect(stats.storedBytes, 'nothing stored twice').toBeLessThan(SIZE * 1.01);
      const verify = await lifeboatJson(['--json', 'verify', '--read-data'], env);
      expect(verify).toMatchObject({ ok: true, errors: [], packsRead: stats.packs });
    } finally {
      if (store instanceof S3BlobStore) await abortAllUploads(store);
    }
  });

  if (backend !== 's3') return;

  it('aborts incomplete multipart uploads only once they are older than the threshold, and only under the prefix', async () => {
    const store = (await fresh()) as S3BlobStore;
    const otherPrefix = `${store.prefix.replace(/\/$/, '')}-other/`;
    const other = new S3BlobStore({ ...s3TestEnv(), bucket: store.bucket, prefix: otherPrefix });
    const create = (s: S3BlobStore, key: string) => s.client.send(new CreateMultipartUploadCommand({ Bucket: s.bucket, Key: s.prefix + key }));
    try {
      const key = `data/ab/${'ab'.repeat(32)}`;
      await create(store, key);
      await create(other, key);
      expect(await store.abortStaleMultipartUploads(3_600_000)).toEqual({ aborted: [], kept: 1 });
      const later = await store.abortStaleMultipartUploads(3_600_000, { now: new Date(Date.now() + 2 * 3_600_000) });
      expect(later.aborted.map((a) => a.key)).toEqual([key]);
      expect(await multipartUploads(store)).toEqual([]);
      expect(await multipartUploads(other), 'another prefix is left alone').toHaveLength(1);

      // The CLI runs the same cleanup before every backup: a recent upload (another backup's) survives the
      // default threshold of 1 h; with LIFEBOAT_STALE_UPLOAD_AGE=0s it is aborted.
      const env = repoEnv(store);
      await lifeboatJson(['--json', 'init'], env);
      await create(store, key);
      const kept = await lifeboatJson(['--json', 'backup', smallDir], env);
      expect(kept.housekeeping).toMatchObject({ abortedUploads: 0, warnings: [] });
      expect(await multipartUploads(store)).toHaveLength(1);
      const aborted = await lifeboatJson(['--json', 'backup', smallDir], { ...env, LIFEBOAT_STALE_UPLOAD_AGE: '0s' });
      expect(aborted.housekeeping).toMatchObject({ abortedUploads: 1, warnings: [] });
      expect(await multipartUploads(store)).toEqual([]);
      const bad = await lifeboat(['backup', smallDir], { ...env, LIFEBOAT_STALE_UPLOAD_AGE: 'soon' });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('LIFEBOAT_STALE_UPLOAD_AGE');
    } finally {
      await abortAllUploads(store);
      await abortAllUploads(other);
      other.destroy();
    }
  });

  it('exits 10 naming the bucket when the bucket does not exist', async () => {
    const s3 = s3TestEnv();
    const r = await lifeboat(['snapshots'], {
      LIFEBOAT_REPOSITORY: 's3://lifeboat-no-such-bucket-here/repo',
      LIFEBOAT_S3_ENDPOINT: s3.endpoint,
      LIFEBOAT_S3_ACCESS_KEY_ID: s3.accessKeyId,
      LIFEBOAT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      LIFEBOAT_PASSWORD: 'x',
    });
    expect(r.code).toBe(10);
    expect(r.stderr).toContain('bucket "lifeboat-no-such-bucket-here" does not exist');
  });
});

describe('unreachable endpoint', () => {
  it('fails with exit 1 and an error naming the endpoint, within a bounded time', async () => {
    const port = await closedPort();
    const env = {
      LIFEBOAT_REPOSITORY: 's3://lifeboat-unreachable/repo',
      LIFEBOAT_S3_ENDPOINT: `http://127.0.0.1:${port}`,
      LIFEBOAT_S3_ACCESS_KEY_ID: 'key',
      LIFEBOAT_S3_SECRET_ACCESS_KEY: 'secret',
      LIFEBOAT_PASSWORD: 'x',
    };
    for (const args of [['snapshots'], ['backup', smallDir], ['init']]) {
      const r = await lifeboat(args, env, { timeoutMs: 90_000 });
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`http://127.0.0.1:${port}`);
      expect(r.stderr).toContain('cannot reach the S3 endpoint');
      expect(r.stderr).not.toContain('secret');
      expect(r.ms).toBeLessThan(60_000);
    }
  });
});

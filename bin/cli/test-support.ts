// Test support for the CLI tests (imported by bin/cli/*.test.ts only): run `node bin/lifeboat.mjs` and the
// runbook wrappers as real processes with a clean environment, and describe a repository (local directory
// or RADOS Gateway prefix, from lib/repo/keys/test-support's forEachBackend) as the environment a user sets.
// The S3 suites FAIL without LIFEBOAT_TEST_S3_* (s3TestEnv), they never skip.
import { AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalBlobStore, type BlobStore } from '../../lib/blob';
import { S3BlobStore } from '../../lib/blob/s3';
import { s3TestEnv } from '../../lib/repo/keys/test-support';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
export const CLI = join(ROOT, 'bin/lifeboat.mjs');
export const SCRIPTS = join(ROOT, 'scripts');

export type Env = Record<string, string | undefined>;
export type RunResult = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; ms: number };

/** process.env without any LIFEBOAT_ / AWS_ setting, so only what a test passes reaches the CLI. */
export function cleanEnv(extra: Env = {}): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('LIFEBOAT_') && !k.startsWith('AWS_')) env[k] = v;
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return { ...env, ...extra };
}

/** Runs a program to completion (killed after timeoutMs) and collects its output. */
export function run(cmd: string, args: string[], opts: { env?: Env; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env: opts.env as NodeJS.ProcessEnv, cwd: opts.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', fail);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `lifeboat ARGS` with `env` (on top of cleanEnv()). CLI_TIMING=1 logs each run's duration to stderr. */
export async function lifeboat(args: string[], env: Env, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const r = await run(process.execPath, [CLI, ...args], { ...opts, env: cleanEnv(env) });
  if (process.env.CLI_TIMING) process.stderr.write(`${new Date().toISOString()} [${r.ms} ms] lifeboat ${args.join(' ')}\n`);
  return r;
}

/** Like lifeboat() but expects exit 0 and parses stdout as JSON (pass --json yourself). */
export async function lifeboatJson<T = any>(args: string[], env: Env): Promise<T> {
  const r = await lifeboat(args, env);
  if (r.code !== 0) throw new Error(`lifeboat ${args.join(' ')} exited ${r.code ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout) as T;
}

/** The environment that points the CLI at `store` (made by forEachBackend's fresh()), with a password. */
export function repoEnv(store: BlobStore, password = 'correct horse battery staple'): Env {
  if (store instanceof LocalBlobStore) return { LIFEBOAT_REPOSITORY: store.root, LIFEBOAT_PASSWORD: password };
  if (store instanceof S3BlobStore) {
    const s3 = s3TestEnv();
    return {
      LIFEBOAT_REPOSITORY: `s3://${store.bucket}/${store.prefix.replace(/\/$/, '')}`,
      LIFEBOAT_S3_ENDPOINT: s3.endpoint,
      LIFEBOAT_S3_REGION: s3.region,
      LIFEBOAT_S3_ACCESS_KEY_ID: s3.accessKeyId,
      LIFEBOAT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      LIFEBOAT_PASSWORD: password,
    };
  }
  throw new Error(`repoEnv: unsupported store ${store.describe()}`);
}

/** Incomplete multipart uploads under an S3 store's prefix (keys relative to the bucket). */
export async function multipartUploads(store: S3BlobStore): Promise<{ key: string; uploadId: string }[]> {
  const res = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: store.prefix }));
  return (res.Uploads ?? []).map((u) => ({ key: u.Key!, uploadId: u.UploadId! }));
}

/** Aborts every incomplete multipart upload under the store's prefix (test cleanup: the bucket must empty). */
export async function abortAllUploads(store: S3BlobStore): Promise<void> {
  for (const u of await multipartUploads(store)) {
    await store.client.send(new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: u.key, UploadId: u.uploadId })).catch(() => {});
  }
}

/** Writes `bytes` of random data to `file` in 8 MiB pieces. */
export function writeRandomFile(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  const piece = Buffer.alloc(8 * 1024 * 1024);
  try {
    for (let left = bytes; left > 0; left -= piece.length) {
      randomFillSync(piece);
      writeSync(fd, piece, 0, Math.min(left, piece.length));
    }
  } finally {
    closeSync(fd);
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (bound, then closed). */
export function closedPort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => done(port));
    });
  });
}

/** Today and yesterday as YYYY-MM-DD in UTC (the CLI's --backup-date zone). */
export function utcDates(now = new Date()) {
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return { today: day(now), yesterday: day(new Date(now.getTime() - 86_400_000)) };
}

/** Shell-quotes one argument for `script -c`. */
export const shq = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

// The machine's raw ceilings: the single-core primitives (bench/primitives.ts, run as a child so its
// figures are not disturbed by this process) and raw S3 throughput to the bench's radosgw through lib/blob's
// S3BlobStore, with Lifeboat's own pack shape: 16 MiB objects (multipart, 8 MiB parts, 4 parts in flight per
// object), N objects in flight (Lifeboat's content store uploads 2 packs at once).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { getBuffer } from '../lib/blob';
import { bucketStore, dropBucket, type Rgw } from './storage';

const MiB = 1024 * 1024;

export type Primitives = { lines: string[]; mbps: Record<string, number> };
export type S3Latency = { smallGetMs: number; rangeGet1MiBMs: number; headMs: number; smallPutMs: number };
export type S3Ceiling = { concurrency: number; objectMiB: number; totalMiB: number; putMBps: number; getMBps: number };

/** Runs bench/primitives.ts in a child node (tsx) and parses its MB/s figures. */
export function runPrimitives(repoRoot: string, budgetMs: number): Promise<Primitives> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'bench/primitives.ts')], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '', BENCH_BUDGET_MS: String(budgetMs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b));
    child.stderr.on('data', (b: Buffer) => (err += b));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`bench/primitives.ts failed (exit ${code}): ${err.trim().split('\n').slice(-5).join('\n')}`));
      const lines = out.trim().split('\n');
      const mbps: Record<string, number> = {};
      const grab = (key: string, re: RegExp) => {
        for (const l of lines) {
          const m = re.exec(l);
          if (m) return (mbps[key] = Number(m[1]));
        }
      };
      grab('sha256', /^sha256 .*?(\d+) MB\/s/);
      grab('hmac', /^hmac-sha256 .*?(\d+) MB\/s/);
      grab('aesGcmSeal', /^aes-256-gcm seal .*?(\d+) MB\/s/);
      grab('aesGcmOpen', /^aes-256-gcm open .*?(\d+) MB\/s/);
      grab('zstd3Comp', /^zstd 3 +comp +(\d+) MB\/s/);
      grab('zstd3Decomp', /^zstd 3 .*decomp +(\d+) MB\/s/);
      grab('zstd1Comp', /^zstd 1 +comp +(\d+) MB\/s/);
      grab('chunker', /^fastcdc 512K\/1M\/8M mixed .*?(\d+) MB\/s/);
      grab('pipeline', /^pipeline .*?(\d+) MB\/s/);
      resolve({ lines, mbps });
    });
  });
}

/** PUTs totalMiB in objectMiB objects, `concurrency` at a time, then GETs them back the same way. */
export async function s3Ceiling(rgw: Rgw, opts: { totalMiB: number; objectMiB: number; concurrency: number }): Promise<S3Ceiling> {
  const bucket = `bench-ceiling-${randomBytes(4).toString('hex')}`;
  const store = bucketStore(rgw, bucket);
  try {
    await store.ensureBucket();
    const body = randomBytes(opts.objectMiB * MiB);
    const n = Math.max(1, Math.round(opts.totalMiB / opts.objectMiB));
    // warm-up: one object (connection setup, first-request costs on the server)
    await store.put('warmup', () => body, { contentLength: body.length });
    const pool = async (fn: (i: number) => Promise<unknown>) => {
      let next = 0;
      const t0 = performance.now();
      await Promise.all(Array.from({ length: opts.concurrency }, async () => {
        while (next < n) await fn(next++);
      }));
      return (performance.now() - t0) / 1000;
    };
    const putS = await pool((i) => store.put(`obj-${i}`, () => body, { contentLength: body.length }));
    const getS = await pool((i) => getBuffer(store, `obj-${i}`));
    const bytes = n * body.length;
    return { concurrency: opts.concurrency, objectMiB: opts.objectMiB, totalMiB: bytes / MiB, putMBps: bytes / 1e6 / putS, getMBps: bytes / 1e6 / getS };
  } finally {
    store.destroy();
    await dropBucket(rgw, bucket);
  }
}

/**
 * Mean latency of sequential requests on one reused connection: a 4 KiB range GET (what a per-blob
 * loadBlob of a small file or tree costs), a 1 MiB range GET, a HEAD and a 4 KiB PUT.
 */
export async function s3Latency(rgw: Rgw, rounds = 30): Promise<S3Latency> {
  const bucket = `bench-latency-${randomBytes(4).toString('hex')}`;
  const store = bucketStore(rgw, bucket);
  try {
    await store.ensureBucket();
    const pack = randomBytes(16 * MiB);
    const small = randomBytes(4096);
    await store.put('pack', () => pack, { contentLength: pack.length });
    const mean = async (fn: () => Promise<unknown>) => {
      await fn();
      const t0 = performance.now();
      for (let i = 0; i < rounds; i++) await fn();
      return (performance.now() - t0) / rounds;
    };
    return {
      smallGetMs: await mean(() => getBuffer(store, 'pack', { range: { offset: 12345, length: 4096 } })),
      rangeGet1MiBMs: await mean(() => getBuffer(store, 'pack', { range: { offset: 4 * MiB, length: MiB } })),
      headMs: await mean(() => store.head('pack')),
      smallPutMs: await mean(() => store.put('small', () => small, { contentLength: small.length })),
    };
  } finally {
    store.destroy();
    await dropBucket(rgw, bucket);
  }
}

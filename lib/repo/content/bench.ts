// Throughput benchmark of ContentStore against the RADOS Gateway named by LIFEBOAT_TEST_S3_* (testing.ts):
// saves BENCH_MIB (default 200) MiB of random data and as much compressible (log-like) data, in 1 MiB blobs,
// with the default 16 MiB packs through openBlobStore (retries + metrics, as in production), flushes, and
// prints MB/s and peak RSS growth. Run: npx tsx lib/repo/content/bench.ts. Creates and removes its bucket.
import { DeleteBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { openBlobStore } from '../../blob';
import { generateMasterKey } from '../crypto/master-key';
import { ContentStore } from './store';
import { s3TestEnv } from './testing';

const MiB = 1024 * 1024;
const total = Number(process.env.BENCH_MIB ?? 200);

/** 1 MiB of log-like text, unique per call (compresses about 3-4x with zstd level 3). */
function logBlob(n: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < MiB; i++) {
    const rnd = randomBytes(6).toString('hex');
    const line = `2025-01-15T10:${String(i % 60).padStart(2, '0')}:00Z INFO blob=${n} req=${rnd} GET /api/v1/items/${(i * 7919) % 100000} status=200 bytes=${(i * 31) % 65536} ms=${i % 97}\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, MiB);
}

/** Blob i: a copy of one of 32 pre-made blobs with i written over its first bytes (unique, same nature). */
function maker(make: (i: number) => Buffer): (i: number) => Buffer {
  const pool = Array.from({ length: 32 }, (_, i) => make(i));
  return (i) => {
    const b = Buffer.from(pool[i % pool.length]!);
    b.write(`#${i}#`, 0, 'latin1');
    return b;
  };
}

async function phase(name: string, make: (i: number) => Buffer) {
  const env = s3TestEnv();
  global.gc?.();
  const bucket = `lifeboat-bench-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const opened = openBlobStore({ kind: 's3', ...env, bucket, prefix: 'repo' });
  await opened.ensureExists();
  const cs = await ContentStore.create(opened.store, generateMasterKey(), { packTargetSize: 16 * MiB, compressionLevel: 3, uploadConcurrency: Number(process.env.BENCH_UPLOADS ?? 2) });
  const base = process.memoryUsage().rss;
  let peak = base;
  const started = performance.now();
  for (let i = 0; i < total; i++) {
    await cs.saveBlob('data', make(i));
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  await cs.flush();
  const seconds = (performance.now() - started) / 1000;
  const s = cs.stats();
  console.log(`${name}: ${total} MiB in ${seconds.toFixed(1)} s = ${(total * MiB / 1e6 / seconds).toFixed(1)} MB/s ` +
    `(${(total / seconds).toFixed(1)} MiB/s); uploaded ${(s.bytesUploaded / MiB).toFixed(1)} MiB in ${s.packsUploaded} packs; ` +
    `RSS growth peak ${((peak - base) / MiB).toFixed(0)} MiB; put calls ${opened.metrics.ops.put.calls}, errors ${opened.metrics.ops.put.errors}`);
  const keys: string[] = [];
  for await (const e of opened.store.list('')) keys.push(e.key);
  await Promise.all(keys.map((k) => opened.store.delete(k)));
  const admin = new S3Client({ region: env.region, endpoint: env.endpoint, forcePathStyle: true, credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey } });
  await admin.send(new DeleteBucketCommand({ Bucket: bucket }));
  admin.destroy();
  opened.close();
}

await phase('random', maker(() => randomBytes(MiB)));
await phase('compressible', maker(logBlob));

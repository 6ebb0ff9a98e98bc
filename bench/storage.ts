// What the bench needs from the RADOS Gateway: buckets (through lib/blob's S3BlobStore), the stored size of
// a bucket (ListObjectsV2: sum of object sizes) and radosgw's own request/byte counters (admin socket
// "perf dump": rgw.put_b / rgw.get_b / rgw.req), which count every byte sent and received, including
// objects later deleted (lock files) and range reads on restore.
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isNotFound } from '../lib/blob';
import { S3BlobStore } from '../lib/blob/s3';

export type Rgw = { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string; dir: string; stop: () => Promise<void> };
export type RgwCounters = { req: number; putBytes: number; getBytes: number; puts: number; gets: number };
export type BucketUsage = { objects: number; bytes: number };

export function bucketStore(rgw: Rgw, bucket: string): S3BlobStore {
  return new S3BlobStore({ endpoint: rgw.endpoint, region: rgw.region, bucket, accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey });
}

export async function bucketUsage(rgw: Rgw, bucket: string): Promise<BucketUsage> {
  const store = bucketStore(rgw, bucket);
  try {
    const u = { objects: 0, bytes: 0 };
    for await (const e of store.list('')) {
      u.objects++;
      u.bytes += e.size;
    }
    return u;
  } catch (err) {
    if (isNotFound(err)) return { objects: 0, bytes: 0 };
    throw err;
  } finally {
    store.destroy();
  }
}

/** Deletes every object and then the bucket (frees the memstore's RAM). */
export async function dropBucket(rgw: Rgw, bucket: string): Promise<void> {
  const store = bucketStore(rgw, bucket);
  try {
    const keys: string[] = [];
    try {
      for await (const e of store.list('')) keys.push(e.key);
    } catch {
      return; // no such bucket
    }
    let next = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next < keys.length) await store.delete(keys[next++]!);
    }));
    await store.client.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
  } finally {
    store.destroy();
  }
}

/** radosgw's perf counters, or null when the admin socket does not answer. */
export async function rgwCounters(rgw: Rgw): Promise<RgwCounters | null> {
  const sock = join(rgw.dir, 'run', 'client.rgw.asok');
  try {
    const text = await adminSocket(sock, { prefix: 'perf dump' });
    const r = (JSON.parse(text) as { rgw?: Record<string, number> }).rgw;
    if (!r) return null;
    return { req: r.req ?? 0, putBytes: r.put_b ?? 0, getBytes: r.get_b ?? 0, puts: r.put ?? 0, gets: r.get ?? 0 };
  } catch {
    return null;
  }
}

export function counterDelta(a: RgwCounters | null, b: RgwCounters | null): RgwCounters | null {
  if (!a || !b) return null;
  return { req: b.req - a.req, putBytes: b.putBytes - a.putBytes, getBytes: b.getBytes - a.getBytes, puts: b.puts - a.puts, gets: b.gets - a.gets };
}

/** Ceph admin socket protocol: JSON command + NUL; reply = uint32 BE length + payload. */
function adminSocket(path: string, command: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => s.destroy(new Error('admin socket timeout')), 5000);
    s.on('connect', () => s.write(`${JSON.stringify(command)}\0`));
    s.on('data', (b: Buffer) => {
      parts.push(b);
      got += b.length;
      const all = Buffer.concat(parts);
      if (got >= 4 && got >= 4 + all.readUInt32BE(0)) {
        clearTimeout(timer);
        s.end();
        resolve(all.subarray(4, 4 + all.readUInt32BE(0)).toString('utf8'));
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

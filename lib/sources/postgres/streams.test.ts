// readContent over a real repository (local directory): a stored stream comes back byte for byte, read
// pack run by pack run (a handful of ranged reads for dozens of blobs) and opened on the restore workers,
// and the same through loadBlob alone.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { readContent, storeStream } from './streams';

let dir: string;
let repo: Repository;
let ids: string[];
let data: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-streams-'));
  repo = await Repository.init(new LocalBlobStore(dir, { fsync: false }), { passphrase: 'pw' }, { kdf: { N: 1024 } });
  // 24 MiB: random 64 KiB pieces repeated a few times (compressible, some dedup), so there are many blobs.
  const pieces = Array.from({ length: 96 }, () => randomBytes(64 * 1024));
  data = Buffer.concat(Array.from({ length: 384 }, (_, i) => pieces[(i * 7) % pieces.length]!));
  const stored = await storeStream(repo, Readable.from([data]), undefined, () => {});
  await repo.flush();
  ids = stored.content;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(gen: AsyncGenerator<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of gen) parts.push(b);
  return Buffer.concat(parts);
}

describe('readContent', () => {
  it('reads neighbouring blobs of a pack with one ranged read', async () => {
    expect(ids.length).toBeGreaterThan(10);
    const calls = { ranges: 0, blobs: 0 };
    const counting = {
      loadBlob: (id: string, s?: AbortSignal) => (calls.blobs++, repo.loadBlob(id, s)),
      locateBlob: (id: string) => repo.locateBlob(id),
      readPackRange: (p: string, o: number, l: number, s?: AbortSignal, into?: Buffer) => (calls.ranges++, repo.readPackRange(p, o, l, s, into)),
      masterKey: repo.masterKey,
    };
    expect((await collect(readContent(counting, ids))).equals(data)).toBe(true);
    expect(calls.blobs).toBe(0);
    expect(calls.ranges).toBeLessThan(ids.length / 3);
  });

  it('gives the same bytes blob by blob when the reader has only loadBlob', async () => {
    expect((await collect(readContent({ loadBlob: (id, s) => repo.loadBlob(id, s) }, ids))).equals(data)).toBe(true);
  });

  it('falls back to loadBlob for a blob that does not open from its run', async () => {
    let fallbacks = 0;
    const flaky = {
      loadBlob: (id: string, s?: AbortSignal) => (fallbacks++, repo.loadBlob(id, s)),
      locateBlob: (id: string) => repo.locateBlob(id),
      readPackRange: (p: string, o: number, l: number, s?: AbortSignal, into?: Buffer) => repo.readPackRange(p, o, l, s, into).then((b) => (b[0]! ^= 0xff, b)), // damages each run's first blob
      masterKey: repo.masterKey,
    };
    expect((await collect(readContent(flaky, ids))).equals(data)).toBe(true);
    expect(fallbacks).toBeGreaterThan(0);
  });
});

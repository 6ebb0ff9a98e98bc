import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { WorkerPool } from '../../worker-pool';
import { ChunkPool, iterableReader, type HashedChunk } from './chunk-pool';
import { masksFor } from './params';
import { chunkBuffer, deriveGearTable, DEFAULT_CHUNKER_PARAMS } from './index';
import { keystream, sourceLikeText, split } from './testing';

const MiB = 1024 * 1024;
const idKey = Buffer.from(Array.from({ length: 32 }, (_, i) => 7 * i));
const gear = deriveGearTable(idKey);
const pool = new ChunkPool(gear, DEFAULT_CHUNKER_PARAMS, idKey, { workers: 2, idleMs: 200 });
afterAll(() => pool.close());

const hmac = (b: Buffer) => createHmac('sha256', idKey).update(b).digest('hex');
const expected = (data: Buffer) => chunkBuffer(data, gear).map((c) => ({ length: c.length, id: hmac(c) }));
/** The chunks; with `release`, each is copied and then released (as the content store does). */
async function collect(chunks: AsyncIterable<HashedChunk>, opts: { release?: boolean } = {}) {
  const out: { length: number; id: string; owns: boolean; inRing: boolean; data: Buffer }[] = [];
  for await (const { data, rawId, release } of chunks) {
    const owns = data.byteOffset === 0 && data.buffer.byteLength === data.length;
    out.push({ length: data.length, id: rawId.toString('hex'), owns, inRing: release !== undefined, data: opts.release ? Buffer.from(data) : data });
    if (opts.release) release?.();
  }
  return out;
}

describe('ChunkPool (chunking and content ids on worker threads)', () => {
  // Compressible text and random bytes, longer than several pieces and the largest chunk.
  const data = Buffer.concat([sourceLikeText(9 * MiB, 3), keystream(13 * MiB, 4)]);

  it('gives exactly the chunks and HMAC content ids of the in-thread chunker, whatever the read sizes', async () => {
    const want = expected(data);
    expect(want.length).toBeGreaterThan(8);
    for (const sizes of [[64 * 1024], [1, 1000, 3 * MiB + 17], [MiB]]) {
      const got = await collect(pool.chunks(iterableReader(Readable.from(split(data, sizes)))), { release: true });
      expect(got.map(({ length, id }) => ({ length, id }))).toEqual(want);
      expect(got.every((c) => c.owns || c.inRing)).toBe(true); // handed to a seal worker as is, or copied and released
      expect(Buffer.concat(got.map((c) => c.data)).equals(data)).toBe(true);
    }
  });

  it('reads files itself (cut to their end; small ones whole), and runs several streams at once without mixing them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lifeboat-chunk-pool-'));
    try {
      const other = keystream(5 * MiB, 9);
      await writeFile(join(dir, 'a'), data);
      const [a, b, empty] = await Promise.all([
        collect(pool.chunks({ path: join(dir, 'a') })),
        collect(pool.chunks(iterableReader([other]))),
        collect(pool.chunks(iterableReader([]))),
      ]);
      expect(a.map(({ length, id }) => ({ length, id }))).toEqual(expected(data));
      expect(a.every((c) => c.owns || c.inRing)).toBe(true); // a file's chunks are cut into a ring too
      expect(a.some((c) => c.inRing)).toBe(true);
      expect(b.map(({ length, id }) => ({ length, id }))).toEqual(expected(other));
      expect(empty).toEqual([]);

      // Small files: read on this thread until the reader is started and has booted, then on the reader;
      // either way the same bytes, ids and errors (node's, with their codes; a symlink is not followed).
      const small = sourceLikeText(300 * 1024, 8);
      await writeFile(join(dir, 'small'), small);
      await writeFile(join(dir, 'empty'), '');
      await symlink(join(dir, 'small'), join(dir, 'link'));
      execFileSync('mkfifo', [join(dir, 'fifo')]);
      for (const where of ['this thread', 'the reader']) {
        if (where === 'the reader') {
          pool.start();
          for (let i = 0; i < 200 && !pool.readerReady; i++) await new Promise((r) => setTimeout(r, 10));
        }
        expect(pool.readerReady, where).toBe(where === 'the reader');
        const got = await pool.smallFile(join(dir, 'small'), 512 * 1024);
        expect(got).not.toBe('too large');
        if (got === 'too large') return;
        expect(got.data.equals(small)).toBe(true);
        expect(got.rawId.toString('hex')).toBe(hmac(small));
        expect(got.data.buffer.byteLength).toBe(small.length); // owns its buffer: handed to a seal worker as is
        expect(await pool.smallFile(join(dir, 'small'), 100 * 1024)).toBe('too large');
        expect(await pool.smallFile(join(dir, 'empty'), 10)).toMatchObject({ data: Buffer.alloc(0) });
        await expect(pool.smallFile(join(dir, 'link'), 512 * 1024)).rejects.toMatchObject({ code: 'ELOOP' });
        await expect(pool.smallFile(join(dir, 'gone'), 10)).rejects.toThrow(/ENOENT: no such file or directory, open/);
        // A file swapped for a FIFO since it was listed is refused, not waited on (open would block).
        await expect(pool.smallFile(join(dir, 'fifo'), 10)).rejects.toThrow(/no longer a regular file/);
      }
      await expect(collect(pool.chunks({ path: join(dir, 'link') }))).rejects.toMatchObject({ code: 'ELOOP' });
      await expect(collect(pool.chunks({ path: join(dir, 'gone') }))).rejects.toThrow(/ENOENT/);
      if (process.getuid?.() !== 0) {
        await chmod(join(dir, 'a'), 0o000);
        await expect(collect(pool.chunks({ path: join(dir, 'a') }))).rejects.toMatchObject({ code: 'EACCES' });
      }
      // The file streams that failed left nothing behind: the next one cuts from its start.
      await chmod(join(dir, 'a'), 0o600);
      expect((await collect(pool.chunks({ path: join(dir, 'a') }))).map(({ length, id }) => ({ length, id }))).toEqual(expected(data));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('lets go of a stream left early and closes its source; read errors and string streams fail the stream', async () => {
    let closed = false;
    const source = (async function* () {
      try {
        for (const piece of split(data, [MiB])) yield piece;
      } finally {
        closed = true;
      }
    })();
    for await (const chunk of pool.chunks(iterableReader(source))) {
      expect(chunk.data.length).toBeGreaterThan(0);
      break;
    }
    expect(closed).toBe(true);
    const failing = { read: async () => Promise.reject(new Error('disk went away')) };
    await expect(collect(pool.chunks(failing))).rejects.toThrow('disk went away');
    await expect(collect(pool.chunks(iterableReader(Readable.from(['text']))))).rejects.toThrow(/needs a byte stream.*encoding/);
    // The pool still works after all that.
    const small = keystream(3 * MiB, 5);
    expect((await collect(pool.chunks(iterableReader([small])))).map(({ length, id }) => ({ length, id }))).toEqual(expected(small));
  });

  it('keeps a stream whole when its source pauses longer than the pool idles (pg_basebackup waiting for WAL archiving)', async () => {
    // The pool above idle-stops its workers after 200 ms without jobs; the worker holds the unfinished
    // chunk, so stopping it mid-stream used to drop those bytes silently.
    const paused = (async function* () {
      const pieces = split(data, [MiB]);
      for (const [i, piece] of pieces.entries()) {
        if (i === 3 || i === pieces.length - 1) await new Promise((r) => setTimeout(r, 700));
        yield piece;
      }
    })();
    const got = await collect(pool.chunks(iterableReader(paused)));
    expect(Buffer.concat(got.map((c) => c.data)).equals(data)).toBe(true);
    expect(got.map(({ length, id }) => ({ length, id }))).toEqual(expected(data));
  });

  it('the worker refuses a later message of a stream it holds no state for, instead of starting it afresh; a held pool keeps its workers', async () => {
    const params = DEFAULT_CHUNKER_PARAMS;
    const { maskS, maskL } = masksFor(params.avgSize);
    const raw = new WorkerPool({ workers: 1, workerUrl: new URL('./chunk-worker.mjs', import.meta.url), workerData: { gear: Int32Array.from(gear), params: { ...params }, maskS, maskL, idKey: new Uint8Array(idKey) }, name: 'chunk worker', idleMs: 50 });
    try {
      const piece = new ArrayBuffer(1024);
      const reply = await raw.run<{ seq: number; error?: { message: string }; free: ArrayBuffer[] }>({ stream: 1, piece, length: 1024 }, [piece], 1024);
      expect(reply.error?.message).toMatch(/stream 1 is unknown to this chunk worker.*unfinished chunk is gone/);
      expect(reply.free).toHaveLength(1); // the piece comes back for reuse
      const ok = await raw.run<{ seq: number; error?: unknown; chunks: ArrayBuffer[] }>({ stream: 2, first: true, end: true }, [], 0);
      expect(ok.error).toBeUndefined();
      // A held pool is not idle-stopped; released, it is.
      const release = raw.hold();
      await new Promise((r) => setTimeout(r, 250));
      expect(raw.running).toBe(1);
      release();
      await new Promise((r) => setTimeout(r, 250));
      expect(raw.running).toBe(0);
    } finally {
      await raw.close();
    }
  });

  it("cuts a piece stream's chunks into a ring reused as they are released, and into memory of their own when they are not", async () => {
    // A pool of its own: the other tests keep chunks of their rings, which count until collected.
    const pool = new ChunkPool(gear, DEFAULT_CHUNKER_PARAMS, idKey, { workers: 1, idleMs: 200 });
    onTestFinished(() => pool.close());
    // 22 MiB through a 16 MiB ring: released as they come, every chunk fits in the ring.
    const released = await collect(pool.chunks(iterableReader(Readable.from(split(data, [MiB])))), { release: true });
    expect(released.every((c) => c.inRing)).toBe(true);
    expect(Buffer.concat(released.map((c) => c.data)).equals(data)).toBe(true);
    // Never released: the ring fills, later chunks get memory of their own, and every chunk stays intact.
    const kept = await collect(pool.chunks(iterableReader(Readable.from(split(data, [MiB])))));
    expect(kept.some((c) => c.inRing)).toBe(true);
    expect(kept.some((c) => c.owns && !c.inRing)).toBe(true);
    expect(Buffer.concat(kept.map((c) => c.data)).equals(data)).toBe(true);
    expect(kept.map(({ length, id }) => ({ length, id }))).toEqual(expected(data));
    // The first chunk held while all later ones are released: its room is not given back, so it stays intact.
    let firstChunk: Buffer | undefined;
    const rest: Buffer[] = [];
    for await (const { data: d, release } of pool.chunks(iterableReader(Readable.from(split(data, [MiB]))))) {
      if (!firstChunk) firstChunk = d;
      else {
        rest.push(Buffer.from(d));
        release?.();
      }
    }
    expect(Buffer.concat([firstChunk!, ...rest]).equals(data)).toBe(true);
  });

  it('keeps at most two rings: a third stream at once chunks into memory of its own', async () => {
    const pool = new ChunkPool(gear, DEFAULT_CHUNKER_PARAMS, idKey, { workers: 1, idleMs: 200 });
    onTestFinished(() => pool.close());
    const streams = await Promise.all([1, 2, 3].map((seed) => collect(pool.chunks(iterableReader([keystream(3 * MiB, seed)]))))); // none released
    expect(streams.map((chunks) => chunks.some((c) => c.inRing))).toEqual([true, true, false]);
    expect(streams[2]!.every((c) => c.owns)).toBe(true);
  });
});

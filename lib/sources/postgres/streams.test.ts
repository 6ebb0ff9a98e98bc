// readContent over a real repository (local directory): a stored stream comes back byte for byte, read
// pack run by pack run (a handful of ranged reads for dozens of blobs) and opened on the restore workers,
// and the same through loadBlob alone.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { Repository } from '../../repo/repository';
import { RestorePool } from '../filesystem/restore-pool';
import { readContent, readHeldContent, storeStream, writeAll } from './streams';

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
    // Without the per-blob id check (a consumer that verifies end to end), damage is still caught by the
    // GCM tag and read again; and the plaintext, decompressed straight into place, is the same.
    const before = fallbacks;
    const held: Buffer[] = [];
    for await (const h of readHeldContent(flaky, ids, undefined, { endToEnd: true })) {
      held.push(Buffer.from(h.data));
      h.release();
    }
    expect(Buffer.concat(held).equals(data)).toBe(true);
    expect(fallbacks).toBeGreaterThan(before);
  });

  it('with reuse, recycles the memory blobs are opened into, and writeAll waits for each write before asking for more', async () => {
    // Data that does not repeat (a recycled buffer refilled with the same bytes would hide a mistake).
    const unique = randomBytes(40 * 1024 * 1024);
    const uniqueIds = (await storeStream(repo, Readable.from([unique]), undefined, () => {})).content;
    await repo.flush();
    // A sink like a pipe to a child: it takes its time over each write and has copied the bytes when it
    // calls back. It accepts writes far ahead (a large highWaterMark), so a buffer recycled before its
    // write finished would show up as wrong bytes in what arrives.
    const arrived: Buffer[] = [];
    const sink = new Writable({
      highWaterMark: 64 * 1024 * 1024,
      write(chunk: Buffer, _enc, done) {
        setTimeout(() => {
          arrived.push(Buffer.from(chunk));
          done();
        }, 20);
      },
    });
    // Which buffers the workers open into: handed back by an earlier job (recycled), or new.
    const handedBack = new Set<ArrayBuffer | SharedArrayBuffer>();
    let jobs = 0;
    let recycled = 0;
    const open = RestorePool.prototype.open;
    const spy = vi.spyOn(RestorePool.prototype, 'open').mockImplementation(async function (this: RestorePool, ...args: Parameters<typeof open>) {
      jobs++;
      if (args[3] && handedBack.has(args[3])) recycled++;
      const r = await open.apply(this, args);
      handedBack.add(r.out);
      return r;
    });
    try {
      const written = await writeAll(readContent(repo, uniqueIds, undefined, { reuse: true }), sink, new Promise(() => {}), () => {}, { reused: true });
      expect(written).toBe(unique.length);
    } finally {
      spy.mockRestore();
    }
    expect(Buffer.concat(arrived).equals(unique)).toBe(true);
    // Three jobs are opened ahead of the one being written: at most four buffers are ever new.
    expect(jobs).toBeGreaterThan(4);
    expect(recycled).toBeGreaterThanOrEqual(jobs - 4);
  });
});

describe('writeAll and a program that exits as it reads the last bytes', () => {
  /** A sink standing for a child's stdin: each write completes `lag` ms after the child "read" it. */
  function laggingSink(lag: number, onLastRead: () => void, total: number) {
    let seen = 0;
    return new Writable({
      write(chunk: Buffer, _enc, done) {
        seen += chunk.length;
        if (seen === total) onLastRead(); // the program has everything and exits at once
        setTimeout(done, lag);
      },
    });
  }

  it('counts a write that completes just after the program was seen exiting', async () => {
    const chunks = [Buffer.alloc(1000, 1), Buffer.alloc(500, 2)];
    let exit!: () => void;
    const exited = new Promise<void>((resolve) => (exit = resolve));
    const sink = laggingSink(30, () => exit(), 1500);
    expect(await writeAll(Readable.from(chunks), sink, exited, () => {}, { reused: true })).toBe(1500);
  });

  it("counts a program that exited successfully after taking every byte, when the sink's end never finishes", async () => {
    let exit!: () => void;
    const exited = new Promise<void>((resolve) => (exit = resolve));
    // Every write is taken at once; ending it never finishes (a socket whose reader is gone: no 'finish').
    const sink = new Writable({ write: (_chunk, _enc, done) => done(), final: () => exit() });
    expect(await writeAll(Readable.from([Buffer.alloc(700), Buffer.alloc(300)]), sink, exited, () => {}, { reused: true })).toBe(1000);
  });

  it('still fails when the program exits and the write never completes', async () => {
    const never = new Writable({ write() {} }); // the bytes are never taken
    const exited = Promise.resolve();
    await expect(writeAll(Readable.from([Buffer.alloc(10)]), never, exited, () => {}, { reused: true })).rejects.toThrow('the program exited before reading all of the dump');
  });
});

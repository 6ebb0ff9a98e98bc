// The wal-fetch prefetch spool: the prefetcher fills it from a real archive (local directory store) and
// stops at the end of the archive; the CLI's fast path serves a spooled file without touching the
// repository at all (the test gives it none), and a miss still goes to the full command.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../../blob';
import { generateMasterKey } from '../../../repo/crypto/master-key';
import { WalArchive } from './wal-archive';
import { prefetchSegments } from './wal-prefetch';
import { SPOOL_DIR, lockSpool, markWanted, nextSegmentNames, readWanted, restoreCommandFastPath, unlockSpool, writeListing } from './wal-spool.mjs';

const CLI = join(__dirname, '../../../../bin/lifeboat.mjs');
const SEG = 1024 * 1024; // a 1 MiB segment size keeps the test small (wal_segment_size can be 1 MiB)
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lifeboat-prefetch-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('WAL prefetch', () => {
  it('names the following segments across a log boundary', () => {
    expect(nextSegmentNames('0000000100000000000000FE', 3)).toEqual(['0000000100000000000000FF', '000000010000000100000000', '000000010000000100000001']);
    expect(nextSegmentNames('000000020000000300000FFF', 1, SEG)).toEqual(['000000020000000400000000']);
  });

  it('spools the segments after the one asked for, authenticated, and stops at the end of the archive', async () => {
    const store = new LocalBlobStore(join(dir, 'repo'), { fsync: false });
    const archive = new WalArchive(store, generateMasterKey(), '42');
    const names = ['000000010000000000000001', ...nextSegmentNames('000000010000000000000001', 5, SEG)];
    for (const [i, n] of names.entries()) await archive.push(n, Buffer.alloc(SEG, i + 1));
    const spool = join(dir, 'pgdata', SPOOL_DIR);
    const r = await prefetchSegments(archive, spool, names[0]!, SEG, { count: 8, idleExitMs: 0 });
    expect(r.fetched).toEqual(names.slice(1));
    expect(r.endOfArchive).toBe(nextSegmentNames(names[5]!, 1, SEG)[0]);
    const spooled = (await readdir(spool)).filter((f) => !f.startsWith('.')).sort();
    expect(spooled).toEqual(names.slice(1));
    expect((await readFile(join(spool, names[3]!))).equals(Buffer.alloc(SEG, 4))).toBe(true);
    expect(existsSync(join(spool, '.prefetch.pid'))).toBe(false); // lock released
  });

  it('runs one prefetcher per spool', async () => {
    const spool = join(dir, 'locked', SPOOL_DIR);
    expect(lockSpool(spool)).toBe(true);
    const archive = new WalArchive(new LocalBlobStore(join(dir, 'repo2'), { fsync: false }), generateMasterKey(), '42');
    expect(await prefetchSegments(archive, spool, '000000010000000000000001', SEG, { idleExitMs: 0 })).toEqual({ fetched: [], endOfArchive: null });
    unlockSpool(spool);
  });

  it('serves a spooled segment from the CLI without a repository, answers unlisted files at once, and sends the rest to the full command', async () => {
    const pgdata = join(dir, 'fast');
    const spool = join(pgdata, SPOOL_DIR);
    await mkdir(join(pgdata, 'pg_wal'), { recursive: true });
    await mkdir(spool, { recursive: true });
    const name = '00000001000000000000000A';
    await writeFile(join(spool, name), Buffer.alloc(SEG, 9));
    markWanted(spool, name);
    // No LIFEBOAT_REPOSITORY, no password: only the spool can answer.
    const env = { PATH: process.env.PATH, HOME: process.env.HOME } as unknown as NodeJS.ProcessEnv;
    const hit = spawnSync(process.execPath, [CLI, 'wal-fetch', name, 'pg_wal/RECOVERYXLOG'], { cwd: pgdata, env, encoding: 'utf8' });
    expect(hit.status, hit.stderr).toBe(0);
    expect((await readFile(join(pgdata, 'pg_wal/RECOVERYXLOG'))).equals(Buffer.alloc(SEG, 9))).toBe(true);
    expect(existsSync(join(spool, name))).toBe(true); // kept: PostgreSQL asks for the last one again
    // Known not archived when recovery started: answered at once, still without a repository.
    writeListing(spool, [name]);
    const history = spawnSync(process.execPath, [CLI, 'wal-fetch', '00000002.history', 'pg_wal/RECOVERYHISTORY'], { cwd: pgdata, env, encoding: 'utf8' });
    expect(history.status).toBe(1);
    expect(history.stderr).toMatch(/00000002\.history is not in the archive \(listing taken when recovery started\)/);
    writeListing(spool, [name, '00000001000000000000000B']); // listed but not spooled: the full command runs
    const miss = spawnSync(process.execPath, [CLI, 'wal-fetch', '00000001000000000000000B', 'pg_wal/RECOVERYXLOG'], { cwd: pgdata, env, encoding: 'utf8' });
    expect(miss.status).toBe(126); // the full command ran and could not reach a repository: fatal, not "end of archive"
    expect(miss.stderr).toMatch(/wal-fetch 00000001000000000000000B failed: cannot read .*pg_control/);
  }, 60_000);

  it("answers from the spool in restore_command's shell step, without node, and the prefetcher cleans up after it", async () => {
    const pgdata = join(dir, 'shell');
    const spool = join(pgdata, SPOOL_DIR);
    await mkdir(join(pgdata, 'pg_wal'), { recursive: true });
    await mkdir(spool, { recursive: true });
    const names = ['000000010000000000000010', ...nextSegmentNames('000000010000000000000010', 4, SEG)];
    for (const [i, n] of names.entries()) await writeFile(join(spool, n), Buffer.alloc(SEG, i + 1));
    writeListing(spool, [...names, '000000010000000000000020']);
    // As PostgreSQL runs it: %f and %p substituted, /bin/sh in the data directory; `sh -c "exit 7"` stands in
    // for the wal-fetch that follows, so reaching it shows as status 7.
    const run = (file: string) => {
      const command = `${restoreCommandFastPath()} sh -c "exit 7"`.replaceAll('%f', file).replaceAll('%p', 'pg_wal/RECOVERYXLOG');
      return spawnSync('/bin/sh', ['-c', command], { cwd: pgdata, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } as unknown as NodeJS.ProcessEnv });
    };
    const hit = run(names[4]!);
    expect(hit.status, hit.stderr).toBe(0);
    expect((await readFile(join(pgdata, 'pg_wal/RECOVERYXLOG'))).equals(Buffer.alloc(SEG, 5))).toBe(true);
    expect(readWanted(spool)).toBe(names[4]);
    const unlisted = run('00000002.history');
    expect(unlisted.status).toBe(1);
    expect(unlisted.stderr).toMatch(/00000002\.history is not in the archive \(listing taken when recovery started\)/);
    expect(run('000000010000000000000020').status).toBe(7); // listed, not spooled: the full wal-fetch runs
    // The prefetcher follows .wanted and drops what the shell step served, keeping the two before it.
    const archive = new WalArchive(new LocalBlobStore(join(dir, 'repo3'), { fsync: false }), generateMasterKey(), '42');
    await prefetchSegments(archive, spool, names[0]!, SEG, { count: 1, idleExitMs: 0 });
    expect((await readdir(spool)).filter((f) => !f.startsWith('.')).sort()).toEqual(names.slice(2));
  });
});

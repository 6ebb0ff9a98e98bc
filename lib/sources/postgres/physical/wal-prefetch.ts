// `lifeboat wal-prefetch`: the detached helper wal-fetch starts (wal-spool.mjs). It keeps the
// PREFETCH_COUNT segments after the one PostgreSQL asked for last (.wanted) in the spool, four GETs in
// flight, until the archive ends (a segment it does not hold: the rest, if any appears later, goes through
// wal-fetch itself) or nobody has asked for anything for IDLE_EXIT_MS. Following .wanted also follows a
// timeline switch. One prefetcher per spool (lock file with its pid). Every file is authenticated by
// WalArchive.fetch before it appears in the spool, under its final name only once complete.
import { existsSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLimited } from '../../../concurrency';
import type { WalArchive } from './wal-archive';
import { PREFETCH_COUNT, dropOlderSegments, lockSpool, nextSegmentNames, readWanted, unlockSpool } from './wal-spool.mjs';

const IN_FLIGHT = 4;
const IDLE_EXIT_MS = 30_000;
const POLL_MS = 100;

export async function prefetchSegments(
  archive: WalArchive,
  spoolDir: string,
  after: string,
  segmentSize: number,
  opts: { count?: number; idleExitMs?: number } = {},
): Promise<{ fetched: string[]; endOfArchive: string | null }> {
  if (!lockSpool(spoolDir)) return { fetched: [], endOfArchive: null };
  const fetched: string[] = [];
  let endOfArchive: string | null = null;
  let wanted = after;
  let lastChange = Date.now();
  try {
    for (;;) {
      const now = readWanted(spoolDir) ?? wanted;
      if (now !== wanted) {
        wanted = now;
        lastChange = Date.now();
        dropOlderSegments(spoolDir, wanted); // restore_command's shell step serves without cleaning up
      }
      const ahead: string[] = nextSegmentNames(wanted, opts.count ?? PREFETCH_COUNT, segmentSize);
      if (endOfArchive && ahead.includes(endOfArchive)) break; // everything up to the end is spooled or consumed
      let firstMissing = Infinity;
      await runLimited(
        ahead.map((name, i) => async () => {
          if (i > firstMissing || existsSync(join(spoolDir, name))) return;
          const data = await archive.fetch(name);
          if (!data) {
            firstMissing = Math.min(firstMissing, i);
            return;
          }
          await spool(spoolDir, name, data);
          fetched.push(name);
        }),
        IN_FLIGHT,
      );
      if (Number.isFinite(firstMissing)) endOfArchive = ahead[firstMissing]!;
      if (Date.now() - lastChange > (opts.idleExitMs ?? IDLE_EXIT_MS)) break;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    return { fetched: fetched.sort(), endOfArchive };
  } finally {
    unlockSpool(spoolDir);
  }
}

async function spool(spoolDir: string, name: string, data: Buffer): Promise<void> {
  const tmp = join(spoolDir, `.${name}.${process.pid}`);
  await writeFile(tmp, data, { mode: 0o600 });
  try {
    await rename(tmp, join(spoolDir, name));
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

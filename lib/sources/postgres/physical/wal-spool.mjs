// The wal-fetch prefetch spool (plain JS: bin/lifeboat.mjs uses it before any TypeScript is loaded).
// PostgreSQL runs restore_command once per WAL file and waits for it; starting node, opening the repository
// and one GET cost ~1 s each time, which would make replaying a day of WAL take hours. So a wal-fetch that
// had to go to the repository also starts one detached `lifeboat wal-prefetch`, which keeps the next
// PREFETCH_COUNT segments after the last one asked for (.wanted) in <pgdata>/lifeboat-spool/, authenticated
// and decompressed exactly as wal-fetch would, until the archive ends or nobody asks for 30 s. The next
// wal-fetch calls find their file there and only rename it into place, without loading the CLI.
// Files appear in the spool only complete (written under a temporary name, then renamed). The spool is
// removed when `lifeboat database recover` finishes; a stale entry is harmless since every name maps to
// exactly one archived content (the archive refuses to overwrite).
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const SPOOL_DIR = 'lifeboat-spool';
/** Segments kept ready ahead of the one PostgreSQL asked for last (16 x 16 MiB = 256 MiB of disk at most). */
export const PREFETCH_COUNT = 16;
const LOCK = '.prefetch.pid';
const WANTED = '.wanted';
const LISTING = '.listing';
const SEGMENT = /^[0-9A-F]{24}$/;

export const isSegment = (name) => SEGMENT.test(name);

/** The `count` segment names after `name` on its timeline, for segments of `segmentSize` bytes. */
export function nextSegmentNames(name, count, segmentSize = 16 * 1024 * 1024) {
  const perLog = Math.floor(0x1_0000_0000 / segmentSize);
  const tl = name.slice(0, 8);
  let log = parseInt(name.slice(8, 16), 16);
  let seg = parseInt(name.slice(16, 24), 16);
  const hex = (n) => n.toString(16).toUpperCase().padStart(8, '0');
  const out = [];
  for (let i = 0; i < count; i++) {
    seg++;
    if (seg >= perLog) {
      seg = 0;
      log++;
    }
    out.push(`${tl}${hex(log)}${hex(seg)}`);
  }
  return out;
}

/**
 * Copies a spooled `name` to `dest` and drops the older segments of its timeline; its size, or null when
 * the spool does not hold it. The file itself stays: PostgreSQL asks for the last segment again at the end
 * of recovery. A copy, not a link: PostgreSQL may recycle the file it got, rewriting it in place.
 */
export function serveFromSpool(spoolDir, name, dest) {
  const file = join(spoolDir, name);
  let size;
  try {
    size = statSync(file).size;
    const tmp = `${dest}.lifeboat-${process.pid}`;
    copyFileSync(file, tmp);
    renameSync(tmp, dest);
  } catch {
    return null;
  }
  dropOlderSegments(spoolDir, name);
  return size;
}

/**
 * Removes the spooled segments of `name`'s timeline before it, but the two just before: PostgreSQL re-reads
 * the segment where recovery ended, which can be older than the last one it asked for. The prefetcher calls
 * it too, for segments restore_command's shell step served (see restoreCommandFastPath).
 */
export function dropOlderSegments(spoolDir, name) {
  const older = spooledSegments(spoolDir).filter((old) => old < name && old.slice(0, 8) === name.slice(0, 8));
  for (const old of older.slice(0, -2)) {
    try {
      unlinkSync(join(spoolDir, old));
    } catch {
      /* a concurrent call took it */
    }
  }
}

/**
 * The shell step `lifeboat database recover` puts in front of `lifeboat wal-fetch` in restore_command
 * (PostgreSQL runs it with /bin/sh in the data directory): a spooled file is copied into place and marked
 * wanted, and a name the listing lacks is answered "not archived", in a few milliseconds instead of a node
 * start (~0.07 s) per call; anything else runs the wal-fetch that follows. Only %f and %p appear in it
 * (PostgreSQL's placeholders; WAL and history file names need no quoting).
 */
export function restoreCommandFastPath() {
  const s = SPOOL_DIR;
  return [
    `if [ -f ${s}/%f ] && cp ${s}/%f %p.lifeboat && mv -f %p.lifeboat %p; then echo %f > ${s}/${WANTED}.$$ && mv -f ${s}/${WANTED}.$$ ${s}/${WANTED}; exit 0; fi;`,
    `if [ -f ${s}/${LISTING} ] && ! grep -qxF %f ${s}/${LISTING}; then echo "lifeboat: %f is not in the archive (listing taken when recovery started)" >&2; exit 1; fi;`,
    'exec',
  ].join(' ');
}

/**
 * Waits up to `ms` for a running prefetcher to spool `name` (it was started before PostgreSQL and is
 * usually a moment away), polling; true when it appeared. Cheaper than starting the full command.
 */
export function awaitSpooled(spoolDir, name, ms = 3000) {
  const until = Date.now() + ms;
  const file = join(spoolDir, name);
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (Date.now() < until && prefetchRunning(spoolDir)) {
    try {
      statSync(file);
      return true;
    } catch {
      Atomics.wait(nap, 0, 0, 20);
    }
  }
  try {
    statSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Stores a file fetched the slow way, so PostgreSQL's second read of it is served from the spool. */
export function spoolCopy(spoolDir, name, data) {
  try {
    statSync(spoolDir);
    const tmp = join(spoolDir, `.${name}.${process.pid}`);
    writeFileSync(tmp, data, { mode: 0o600 });
    renameSync(tmp, join(spoolDir, name));
  } catch {
    /* no spool (not recovering through `database recover`), or it was removed: nothing to keep */
  }
}

/** Records every file the archive held when recovery started (`lifeboat database recover` writes it). */
export function writeListing(spoolDir, names) {
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  writeFileSync(join(spoolDir, LISTING), `${names.join('\n')}\n`, { mode: 0o600 });
}

/**
 * Whether the archive held `name` when recovery started: true, false, or null without a listing. A file
 * missing from the listing is answered "not archived" at once: history files that never existed, and the
 * segment after the end, are asked for several times per recovery, and each full lookup costs ~1 s.
 */
export function listedAtStart(spoolDir, name) {
  let text;
  try {
    text = readFileSync(join(spoolDir, LISTING), 'utf8');
  } catch {
    return null;
  }
  return text.split('\n').includes(name);
}

/** The segment before `name` on its timeline (for starting a prefetch at `name` itself). */
export function previousSegmentName(name, segmentSize = 16 * 1024 * 1024) {
  const perLog = Math.floor(0x1_0000_0000 / segmentSize);
  let log = parseInt(name.slice(8, 16), 16);
  let seg = parseInt(name.slice(16, 24), 16) - 1;
  if (seg < 0) {
    seg = perLog - 1;
    log--;
  }
  const hex = (n) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${name.slice(0, 8)}${hex(log)}${hex(seg)}`;
}

export function spooledSegments(spoolDir) {
  try {
    return readdirSync(spoolDir).filter(isSegment).sort();
  } catch {
    return [];
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** True when a prefetcher holds the spool's lock (a dead holder's lock is ignored). */
export function prefetchRunning(spoolDir) {
  try {
    const pid = Number(readFileSync(join(spoolDir, LOCK), 'utf8'));
    return pid > 0 && alive(pid);
  } catch {
    return false;
  }
}

/** Takes the spool's prefetch lock for this process; false when another live prefetcher has it. */
export function lockSpool(spoolDir) {
  mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
  const lock = join(spoolDir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if (err.code !== 'EEXIST' || prefetchRunning(spoolDir)) return false;
      rmSync(lock, { force: true });
    }
  }
  return false;
}

export function unlockSpool(spoolDir) {
  rmSync(join(spoolDir, LOCK), { force: true });
}

/** Records the segment PostgreSQL asked for last: the running prefetcher keeps PREFETCH_COUNT ahead of it. */
export function markWanted(spoolDir, name) {
  try {
    mkdirSync(spoolDir, { recursive: true, mode: 0o700 });
    const tmp = join(spoolDir, `${WANTED}.${process.pid}`);
    writeFileSync(tmp, name);
    renameSync(tmp, join(spoolDir, WANTED));
  } catch {
    /* the spool is an optimisation: never fail a fetch over it */
  }
}

export function readWanted(spoolDir) {
  try {
    const name = readFileSync(join(spoolDir, WANTED), 'utf8').trim();
    return isSegment(name) ? name : null;
  } catch {
    return null;
  }
}

/**
 * Notes `wanted` and starts a detached prefetcher unless one runs (it follows .wanted by itself).
 * `cli` is the argv that runs lifeboat (node, bin/lifeboat.mjs, and --env-file FILE when given).
 */
export function startPrefetch(cli, spoolDir, wanted, segmentSize, cwd) {
  markWanted(spoolDir, wanted);
  if (prefetchRunning(spoolDir)) return;
  const child = spawn(cli[0], [...cli.slice(1), 'wal-prefetch', '--after', wanted, '--segment-size', String(segmentSize)], { cwd, detached: true, stdio: 'ignore' });
  child.on('error', () => {});
  child.unref();
}

// `lifeboat locks` and `lifeboat unlock` (docs/repository-format.md §10). They open only the key, so a lock
// can be cleared even when the index cannot be loaded.
// - unlock removes stale locks (expired: takers already ignore them) and, like restic, locks of this host
//   whose process is gone (a killed run's lock would otherwise hold off exclusive work, such as
//   maintenance, until it expires). Unreadable locks are reported and left in place.
// - unlock --remove-all removes every lock, live and unreadable ones too: for an operator who knows that
//   no Lifeboat process uses the repository (a crashed host's locks).
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { describeHolder, isStale, listLocks, type LockEntry, type LockInfo, type UnreadableLock } from '../../../lib/repo/lock';
import { deleteObject } from '../../../lib/repo/objects';
import { openRepoKey, type GlobalOptions } from '../context';
import { emit, table } from '../output';

type State = 'live' | 'stale' | 'dead' | 'unreadable';
type Row = { id: string; state: State; exclusive?: boolean; operation?: string; hostname?: string; pid?: number; time?: string; expires?: string; error?: string };

function row(entry: LockEntry | UnreadableLock, nowMs: number): Row {
  return 'error' in entry ? { id: entry.id, state: 'unreadable', error: entry.error.message } : { id: entry.id, state: stateOf(entry, nowMs), ...entry.lock };
}

function stateOf(entry: LockEntry | UnreadableLock, nowMs: number): State {
  return 'error' in entry ? 'unreadable' : lockState(entry.lock, nowMs);
}

/** dead: taken on this host by a process that is no longer running. */
function lockState(lock: LockInfo, nowMs: number): State {
  if (isStale(lock, nowMs)) return 'stale';
  if (lock.hostname === hostname() && !processRuns(lock.pid)) return 'dead';
  return 'live';
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // runs, as another user
  }
}

export function registerLocks(program: Command, globals: () => GlobalOptions) {
  program
    .command('locks')
    .description('list the repository\'s locks: who holds them, since when, and whether they are stale')
    .action(async () => {
      const opts = globals();
      const { store, opened, close } = await openRepoKey(opts);
      try {
        const listing = await listLocks(store, opened.masterKey);
        const now = Date.now();
        const rows = [...listing.locks, ...listing.unreadable].map((e) => row(e, now));
        emit(opts.json, rows, () =>
          rows.length === 0
            ? 'no locks'
            : table([
                ['ID', 'STATE', 'KIND', 'OPERATION', 'HOST', 'PID', 'SINCE', 'EXPIRES'],
                ...rows.map((r) => [r.id.slice(0, 8), r.state, r.state === 'unreadable' ? '?' : r.exclusive ? 'exclusive' : 'shared', r.operation ?? r.error ?? '', r.hostname ?? '', r.pid === undefined ? '' : String(r.pid), r.time ?? '', r.expires ?? '']),
              ]),
        );
      } finally {
        close();
      }
    });

  program
    .command('unlock')
    .description('remove stale locks (left by killed runs); --remove-all also removes live and unreadable ones')
    .option('--remove-all', 'remove every lock: only when sure that no Lifeboat process uses the repository')
    .action(async (cmd: { removeAll?: boolean }) => {
      const opts = globals();
      const { store, opened, close } = await openRepoKey(opts);
      try {
        const listing = await listLocks(store, opened.masterKey);
        const now = Date.now();
        const all = [...listing.locks, ...listing.unreadable].map((entry) => ({ entry, state: stateOf(entry, now) }));
        const chosen = all.filter((l) => cmd.removeAll || l.state === 'stale' || l.state === 'dead');
        for (const l of chosen) await deleteObject(store, 'locks', l.entry.id);
        const kept = all.filter((l) => !chosen.includes(l)).filter((l) => l.state === 'unreadable').map((l) => l.entry.id);
        emit(opts.json, { removed: chosen.map((l) => l.entry.id), unreadable: kept }, () => [
          chosen.length ? `removed ${chosen.length} lock(s):` : `no ${cmd.removeAll ? '' : 'stale '}locks to remove`,
          ...chosen.map((l) => `  ${l.entry.id.slice(0, 8)}: ${l.state}, ${describeHolder(l.entry).replace(/^repository (is|has) /, '')}`),
          ...kept.map((id) => `warning: left locks/${id} in place: it cannot be read (remove it with unlock --remove-all once nobody uses the repository)`),
        ]);
      } finally {
        close();
      }
    });
}

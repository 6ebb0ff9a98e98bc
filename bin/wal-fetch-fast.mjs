// The fast path of `lifeboat wal-fetch NAME DEST` (PostgreSQL's restore_command): when the prefetch spool
// already holds NAME, move it into place and top the spool up, without loading the CLI at all (~0.05 s
// instead of ~1 s per WAL file during recovery). Anything else (options, a miss, a history file) goes
// through the full command. See lib/sources/postgres/physical/wal-spool.mjs.
import { resolve } from 'node:path';
import { SPOOL_DIR, isSegment, startPrefetch, takeFromSpool } from '../lib/sources/postgres/physical/wal-spool.mjs';

/** True when the spool served the request. */
export function fastWalFetch(argv) {
  let args = argv.slice(2);
  let envArgs = [];
  if (args[0] === '--env-file' && args.length > 1) {
    envArgs = args.slice(0, 2);
    args = args.slice(2);
  }
  if (args.length !== 3 || args[0] !== 'wal-fetch' || !isSegment(args[1])) return false;
  const spool = resolve(SPOOL_DIR);
  const size = takeFromSpool(spool, args[1], resolve(args[2]));
  if (size === null) return false;
  startPrefetch([process.execPath, argv[1], ...envArgs], spool, args[1], size, process.cwd());
  return true;
}

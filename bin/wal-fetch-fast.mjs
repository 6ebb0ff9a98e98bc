// The fast path of `lifeboat wal-fetch NAME DEST` (PostgreSQL's restore_command), without loading the CLI
// (~0.05 s instead of ~1 s per call during recovery; see lib/sources/postgres/physical/wal-spool.mjs):
// - the prefetch spool holds NAME (or a running prefetcher delivers it within 3 s): copy it into place and
//   keep the prefetcher going;
// - the listing `database recover` took says the archive did not hold NAME: answer "not archived" (exit 1).
// Anything else (options, a file the spool does not have yet) goes through the full command.
import { resolve } from 'node:path';
import { SPOOL_DIR, awaitSpooled, isSegment, listedAtStart, serveFromSpool, startPrefetch } from '../lib/sources/postgres/physical/wal-spool.mjs';

/** 0 when the spool served NAME, 1 when it is known not to be archived, null to run the full command. */
export function fastWalFetch(argv) {
  let args = argv.slice(2);
  let envArgs = [];
  if (args[0] === '--env-file' && args.length > 1) {
    envArgs = args.slice(0, 2);
    args = args.slice(2);
  }
  if (args.length !== 3 || args[0] !== 'wal-fetch') return null;
  const [, name, dest] = args;
  const spool = resolve(SPOOL_DIR);
  if (isSegment(name)) {
    if (listedAtStart(spool, name) === true) awaitSpooled(spool, name);
    const size = serveFromSpool(spool, name, resolve(dest));
    if (size !== null) {
      startPrefetch([process.execPath, argv[1], ...envArgs], spool, name, size, process.cwd());
      return 0;
    }
  }
  if (listedAtStart(spool, name) === false) {
    process.stderr.write(`lifeboat: ${name} is not in the archive (listing taken when recovery started)\n`);
    return 1;
  }
  return null;
}

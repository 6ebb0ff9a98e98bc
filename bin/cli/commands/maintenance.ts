// `lifeboat maintenance`: the upkeep a cron line can run (Kopia's "maintenance run"): merge index files,
// remove expired locks and, on S3, abort multipart uploads left by killed runs. Backups already merge the
// index once it has AUTO_COMPACT_INDEX_FILES files; this merges any two or more small ones.
import type { Command } from 'commander';
import { removeStaleLocks } from '../../../lib/repo/lock';
import { compactIndexWhenLarge } from '../../../lib/repo/maintenance';
import { openRepoKey, type GlobalOptions } from '../context';
import { abortStaleUploads, parseDuration } from '../housekeeping';
import { abortOnSignals } from '../interrupt';
import { emit } from '../output';

export function registerMaintenance(program: Command, globals: () => GlobalOptions) {
  program
    .command('maintenance')
    .description('merge small index files, remove expired locks and abort stale multipart uploads')
    .option('--lock-wait <duration>', 'how long to wait for other runs to finish (the index is merged under an exclusive lock)', '0s')
    .action(async (cmd: { lockWait: string }) => {
      const opts = globals();
      const waitMs = parseDuration(cmd.lockWait, '--lock-wait');
      const { store, opened, close } = await openRepoKey(opts);
      const interrupt = abortOnSignals();
      try {
        const { signal } = interrupt;
        const locks = await removeStaleLocks(store, opened.masterKey, { signal });
        const index = await compactIndexWhenLarge(store, opened.masterKey, { signal, minFiles: 2, lockWaitMs: waitMs, failWhenLocked: true });
        const uploads = await abortStaleUploads(opts, process.env, signal);
        const out = { index, removedLocks: locks.removed.length, abortedUploads: uploads?.aborted ?? 0 };
        emit(opts.json, out, () => [
          'compacted' in index && index.compacted.written.length
            ? `index: ${index.compacted.before} file(s) -> ${index.compacted.after} (${index.compacted.written.length} written, ${index.compacted.removed.length} removed)`
            : `index: ${'compacted' in index ? index.compacted.before : index.indexFiles} file(s), nothing to merge`,
          `locks: removed ${locks.removed.length} expired lock(s)`,
          ...locks.unreadable.map((id) => `warning: left locks/${id} in place: it cannot be read`),
          ...(uploads ? [`uploads: aborted ${uploads.aborted} stale multipart upload(s)`] : []),
        ]);
      } finally {
        interrupt.dispose();
        close();
      }
    });
}

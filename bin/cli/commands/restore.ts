import type { Command } from 'commander';
import { resolve } from 'node:path';
import { expectedTotals, restoreTree } from '../../../lib/sources/filesystem/restorer';
import { openRepo, type GlobalOptions } from '../context';
import { UsageError } from '../errors';
import { emit } from '../output';
import { formatBytes, ProgressLine } from '../progress';
import { checkSelectOptions, selectSnapshot } from './select';

export function registerRestore(program: Command, globals: () => GlobalOptions) {
  program
    .command('restore')
    .description('restore a snapshot (or one path of it) into a directory, then verify every file')
    .argument('[snapshot]', 'snapshot id, unique id prefix, or "latest" (default)')
    .requiredOption('--target <dir>', 'directory to restore into (created when missing)')
    .option('--backup-date <YYYY-MM-DD>', 'the newest restore point on or before the end of that day (UTC)')
    .option('--path <path>', 'restore only this path of the snapshot; its contents land directly in --target. "auto": the snapshot\'s only path, or the one equal to --target')
    .option('--source-kind <kind>', 'only consider restore points of this kind of source (filesystem, config)')
    .option('--source-name <name>', 'only consider restore points of this source')
    .option('--host <hostname>', 'only consider restore points made on this host')
    .action(async (selector: string | undefined, cmd: { target: string; backupDate?: string; path?: string; sourceKind?: string; sourceName?: string; host?: string }) => {
      const opts = globals();
      if (cmd.path && cmd.path !== 'auto' && !cmd.path.startsWith('/')) throw new UsageError(`--path must be an absolute path inside the snapshot, got "${cmd.path}"`);
      checkSelectOptions(selector, cmd);
      const { repo, close } = await openRepo(opts, { restore: true });
      const progress = new ProgressLine('restore');
      const lock = await repo.lock('restore').catch((err) => {
        close();
        throw err;
      });
      try {
        const entry = await selectSnapshot(repo, selector, cmd);
        const from = cmd.path === 'auto' ? autoPath(entry.id, entry.snapshot.paths, cmd.target) : cmd.path;
        const result = await restoreTree(repo, entry.snapshot.tree, cmd.target, {
          from,
          expected: expectedTotals(entry.snapshot, from),
          signal: lock.signal,
          onProgress: (p) => progress.update({ done: p.bytesDone, total: p.bytesTotal, filesDone: p.filesDone, filesTotal: p.filesTotal }),
        });
        progress.done();
        emit(opts.json, { snapshot: entry.id, time: entry.snapshot.time, source: entry.snapshot.source, path: from ?? null, target: cmd.target, ...result }, () => [
          `restored ${from ? `${from} of ` : ''}snapshot ${entry.id.slice(0, 8)} of ${entry.snapshot.time} into ${cmd.target}`,
          `${result.files} files (${result.verifiedFiles} verified against the backup), ${result.dirs} directories, ${formatBytes(result.bytes)}`,
          ...result.warnings.map((w) => `warning: ${w.path}: ${w.message}`),
          ...result.errors.map((e) => `error: ${e.path}: ${e.message}`),
        ]);
        if (result.errors.length) process.exitCode = 1;
      } finally {
        progress.done();
        await lock.release().catch(() => {});
        close();
      }
    });
}

/**
 * --path auto: the snapshot's only path; with several, the one equal to the target (restoring /var/www into
 * /var/www); otherwise a UsageError listing the paths.
 */
export function autoPath(snapshotId: string, paths: readonly string[], target: string): string {
  if (paths.length === 1) return paths[0]!;
  const t = resolve(target);
  if (paths.includes(t)) return t;
  throw new UsageError(`snapshot ${snapshotId.slice(0, 8)} holds several paths (${paths.join(', ')}) and the target ${t} is none of them: choose one with --path`);
}

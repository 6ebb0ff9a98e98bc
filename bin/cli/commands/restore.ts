import type { Command } from 'commander';
import { restoreTree } from '../../../lib/sources/filesystem/restorer';
import { openRepo, type GlobalOptions } from '../context';
import { UsageError } from '../errors';
import { emit } from '../output';
import { formatBytes, ProgressLine } from '../progress';
import { selectSnapshot } from './select';

export function registerRestore(program: Command, globals: () => GlobalOptions) {
  program
    .command('restore')
    .description('restore a snapshot (or one path of it) into a directory, then verify every file')
    .argument('[snapshot]', 'snapshot id, unique id prefix, or "latest" (default)')
    .requiredOption('--target <dir>', 'directory to restore into (created when missing)')
    .option('--backup-date <YYYY-MM-DD>', 'the newest restore point on or before the end of that day (UTC)')
    .option('--path <path>', 'restore only this path of the snapshot; its contents land directly in --target')
    .option('--source-name <name>', 'only consider restore points of this source')
    .option('--host <hostname>', 'only consider restore points made on this host')
    .action(async (selector: string | undefined, cmd: { target: string; backupDate?: string; path?: string; sourceName?: string; host?: string }) => {
      const opts = globals();
      if (cmd.path && !cmd.path.startsWith('/')) throw new UsageError(`--path must be an absolute path inside the snapshot, got "${cmd.path}"`);
      const { repo, close } = await openRepo(opts);
      const progress = new ProgressLine('restore');
      const lock = await repo.lock('restore');
      try {
        const entry = await selectSnapshot(repo, selector, cmd);
        const result = await restoreTree(repo, entry.snapshot.tree, cmd.target, {
          from: cmd.path,
          signal: lock.signal,
          onProgress: (p) => progress.update({ done: p.bytesDone, total: p.bytesTotal, filesDone: p.filesDone, filesTotal: p.filesTotal }),
        });
        progress.done();
        emit(opts.json, { snapshot: entry.id, time: entry.snapshot.time, target: cmd.target, ...result }, () => [
          `restored snapshot ${entry.id.slice(0, 8)} of ${entry.snapshot.time} into ${cmd.target}`,
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

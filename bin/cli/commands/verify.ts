import type { Command } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkRepository } from '../../../lib/repo/check';
import { expectedTotals, restoreTree } from '../../../lib/sources/filesystem/restorer';
import { baseBackupProblem } from '../../../lib/sources/postgres/physical';
import { openRepo, type GlobalOptions } from '../context';
import { UsageError } from '../errors';
import { emit } from '../output';
import { formatBytes, ProgressLine } from '../progress';
import { checkSelectOptions, selectAll, selectSnapshot } from './select';

type VerifyCmd = { readData?: boolean; readDataSubset?: string; testRestore?: boolean; snapshot?: string; backupDate?: string; sourceKind?: string; sourceName?: string };

function percentFrom(cmd: VerifyCmd): number {
  if (cmd.readDataSubset === undefined) return cmd.readData ? 100 : 0;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(cmd.readDataSubset);
  const n = m ? Number(m[1]) : NaN;
  if (!(n > 0 && n <= 100)) throw new UsageError(`--read-data-subset must be a percentage between 0 and 100 such as 10%, got "${cmd.readDataSubset}"`);
  return n;
}

export function registerVerify(program: Command, globals: () => GlobalOptions) {
  program
    .command('verify')
    .description('check the repository: structure always; --read-data downloads and re-hashes; --test-restore restores into a temporary directory')
    .option('--read-data', 'download every pack, decrypt and re-hash every blob')
    .option('--read-data-subset <percent>', 'read a random share of the packs, e.g. 10%')
    .option('--test-restore', 'restore the selected snapshot into a temporary directory and verify every file')
    .option('--snapshot <id>', 'verify only this snapshot (id, prefix or latest)')
    .option('--backup-date <YYYY-MM-DD>', 'verify only the newest restore point on or before that day')
    .option('--source-kind <kind>', 'only consider restore points of this kind of source (filesystem, config)')
    .option('--source-name <name>', 'only consider restore points of this source')
    .action(async (cmd: VerifyCmd) => {
      const opts = globals();
      const percent = percentFrom(cmd);
      checkSelectOptions(cmd.snapshot, cmd);
      const { repo, close } = await openRepo(opts);
      const lock = await repo.lock('check').catch((err) => {
        close();
        throw err;
      });
      const progress = new ProgressLine('verify');
      try {
        const one = cmd.snapshot || cmd.backupDate || cmd.testRestore;
        const selected = one ? [await selectSnapshot(repo, cmd.snapshot, cmd)] : cmd.sourceName || cmd.sourceKind ? await selectAll(repo, cmd) : undefined;
        if (selected?.length === 0) throw new Error(`no snapshot matches source ${cmd.sourceKind ?? '*'}/${cmd.sourceName ?? '*'}`);
        const check = await checkRepository(repo, { readDataPercent: percent, snapshots: selected, signal: lock.signal, onProgress: (p) => progress.update({ done: p.done, total: p.total, label: p.step }) });
        let testRestore: { snapshot: string; seconds: number; files: number; bytes: number; errors: string[] } | undefined;
        if (cmd.testRestore && selected?.[0]) {
          const dir = await mkdtemp(join(tmpdir(), 'lifeboat-test-restore-'));
          const started = Date.now();
          try {
            const res = await restoreTree(repo, selected[0].snapshot.tree, dir, { expected: expectedTotals(selected[0].snapshot, undefined), signal: lock.signal, onProgress: (p) => progress.update({ done: p.bytesDone, total: p.bytesTotal, label: 'test restore' }) });
            // A base backup is also read as PostgreSQL would get it: every file against its manifest.
            const problem = await baseBackupProblem(repo, selected[0].snapshot, selected[0].id, { signal: lock.signal, onProgress: (done, total) => progress.update({ done, total, label: 'base backup check' }) });
            testRestore = { snapshot: selected[0].id, seconds: (Date.now() - started) / 1000, files: res.verifiedFiles, bytes: res.bytes, errors: [...res.errors.map((e) => `${e.path}: ${e.message}`), ...(problem ? [problem] : [])] };
          } finally {
            await rm(dir, { recursive: true, force: true });
          }
        }
        progress.done();
        const ok = check.ok && (!testRestore || testRestore.errors.length === 0);
        emit(opts.json, { ...check, ok, testRestore }, () => [
          `structure: ${check.snapshots} snapshot(s), ${check.trees} trees, ${check.dataBlobs} data blobs, ${check.packs} packs`,
          ...(percent ? [`read data: ${check.packsRead} pack(s), ${formatBytes(check.bytesRead)} downloaded, decrypted and re-hashed`] : []),
          ...(testRestore ? [`test restore of ${testRestore.snapshot.slice(0, 8)}: ${testRestore.files} files, ${formatBytes(testRestore.bytes)} restored and verified in ${testRestore.seconds.toFixed(1)} s`] : []),
          ...check.notes.map((n) => `note: ${n}`),
          ...check.errors.map((e) => `error: ${e}`),
          ...(testRestore?.errors ?? []).map((e) => `error: test restore: ${e}`),
          ok ? 'no errors were found' : 'THE REPOSITORY HAS ERRORS',
        ]);
        if (!ok) process.exitCode = 1;
      } finally {
        progress.done();
        await lock.release().catch(() => {});
        close();
      }
    });
}

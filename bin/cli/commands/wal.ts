// `lifeboat wal-push %p` and `lifeboat wal-fetch %f %p`: PostgreSQL's archive_command and restore_command
// (lib/sources/postgres/physical/wal-archive.ts; docs/postgres-pitr.md). PostgreSQL runs them in the data
// directory, so the cluster's system identifier comes from ./global/pg_control (or --pgdata).
// Exit codes follow what PostgreSQL makes of them: wal-push exits non-zero on any failure (PostgreSQL keeps
// the segment and retries); wal-fetch exits 1 only when the archive does not hold the file (PostgreSQL takes
// that as the end of the archive) and 126 on every other failure (decryption, storage, password), because
// PostgreSQL aborts recovery on an exit status above 125 instead of ending it early at a damaged segment.
import type { Command } from 'commander';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { openRepoKey, type GlobalOptions } from '../context';
import { describeError, EXIT, UsageError } from '../errors';
import { SPOOL_DIR, isSegment, spoolCopy, startPrefetch } from '../../../lib/sources/postgres/physical/wal-spool.mjs';
import { selfCommand } from './database-physical';

const archive = () => import('../../../lib/sources/postgres/physical/wal-archive');
/** PostgreSQL aborts recovery when restore_command exits above 125. */
export const WAL_FETCH_FATAL = 126;

export function registerWal(program: Command, globals: () => GlobalOptions) {
  registerWalPrefetch(program, globals);
  program
    .command('wal-push')
    .description('archive one WAL file into the repository (PostgreSQL archive_command: lifeboat wal-push %p)')
    .argument('<path>', 'the WAL file (%p: relative to the data directory)')
    .option('--pgdata <dir>', 'the cluster\'s data directory (default: the current directory, where PostgreSQL runs it)')
    .action(async (path: string, cmd: { pgdata?: string }) => {
      const opts = globals();
      const { WalArchive, checkWalFileName, systemIdOfDataDir } = await archive();
      const name = checkWalFileName(basename(path));
      const pgdata = resolve(cmd.pgdata ?? '.');
      const data = await readFile(resolve(pgdata, path)).catch((err: NodeJS.ErrnoException) => {
        throw new Error(`cannot read WAL file ${path}: ${err.code ?? err.message}`);
      });
      const systemId = await systemIdOfDataDir(pgdata);
      const { store, opened, close } = await openRepoKey(opts);
      try {
        const wal = new WalArchive(store, opened.masterKey, systemId, opened.config.compression.level);
        const outcome = await wal.push(name, data);
        process.stdout.write(`lifeboat: ${name} ${outcome === 'stored' ? 'archived' : 'was already archived (same content)'} (system ${systemId}, ${data.length} bytes)\n`);
      } finally {
        close();
      }
    });

  program
    .command('wal-fetch')
    .description('restore one WAL file from the repository (PostgreSQL restore_command: lifeboat wal-fetch %f %p); exit 1 = not archived')
    .argument('<name>', 'the WAL file name (%f)')
    .argument('<dest>', 'where to write it (%p: relative to the data directory)')
    .option('--pgdata <dir>', 'the cluster\'s data directory (default: the current directory)')
    .option('--system-id <id>', 'read from this cluster\'s archive instead of the data directory\'s own')
    .option('--no-prefetch', 'do not fetch the following segments ahead into <pgdata>/lifeboat-spool')
    .action(async (name: string, dest: string, cmd: { pgdata?: string; systemId?: string; prefetch: boolean }) => {
      const opts = globals();
      try {
        const { WalArchive, checkWalFileName, checkSystemId, systemIdOfDataDir } = await archive();
        checkWalFileName(name);
        const pgdata = resolve(cmd.pgdata ?? '.');
        const systemId = cmd.systemId ? checkSystemId(cmd.systemId) : await systemIdOfDataDir(pgdata);
        const { store, opened, close } = await openRepoKey(opts);
        try {
          const data = await new WalArchive(store, opened.masterKey, systemId).fetch(name);
          if (!data) {
            process.stderr.write(`lifeboat: ${name} is not in the archive of system ${systemId}\n`);
            process.exitCode = EXIT.failure;
            return;
          }
          if (!cmd.systemId) spoolCopy(resolve(pgdata, SPOOL_DIR), name, data);
          if (cmd.prefetch && !cmd.systemId && isSegment(name)) {
            const envFile = program.opts<{ envFile?: string }>().envFile;
            startPrefetch([...selfCommand(), ...(envFile ? ['--env-file', resolve(envFile)] : [])], resolve(pgdata, SPOOL_DIR), name, data.length, pgdata);
          }
          const target = resolve(pgdata, dest);
          const tmp = `${target}.lifeboat-${process.pid}`;
          try {
            await writeFile(tmp, data, { mode: 0o600 });
            await rename(tmp, target);
          } catch (err) {
            await rm(tmp, { force: true });
            throw err;
          }
        } finally {
          close();
        }
      } catch (err) {
        process.stderr.write(`lifeboat: wal-fetch ${name} failed: ${describeError(err)}\n`);
        process.exitCode = WAL_FETCH_FATAL;
      }
    });
}

/** Hidden: the detached prefetcher wal-fetch starts (lib/sources/postgres/physical/wal-prefetch.ts). */
export function registerWalPrefetch(program: Command, globals: () => GlobalOptions) {
  program
    .command('wal-prefetch', { hidden: true })
    .requiredOption('--after <name>', 'the segment PostgreSQL asked for last')
    .requiredOption('--segment-size <bytes>', 'WAL segment size')
    .option('--pgdata <dir>', 'the data directory (default: the current directory)')
    .action(async (cmd: { after: string; segmentSize: string; pgdata?: string }) => {
      const opts = globals();
      const { WalArchive, systemIdOfDataDir } = await archive();
      const { prefetchSegments } = await import('../../../lib/sources/postgres/physical/wal-prefetch');
      if (!isSegment(cmd.after)) throw new UsageError(`--after must be a WAL segment name, got "${cmd.after}"`);
      const size = Number(cmd.segmentSize);
      if (!Number.isInteger(size) || size < 1024 * 1024 || (size & (size - 1)) !== 0) throw new UsageError(`--segment-size must be a power of two of at least 1 MiB, got "${cmd.segmentSize}"`);
      const pgdata = resolve(cmd.pgdata ?? '.');
      const systemId = await systemIdOfDataDir(pgdata);
      const { store, opened, close } = await openRepoKey(opts);
      try {
        await prefetchSegments(new WalArchive(store, opened.masterKey, systemId), resolve(pgdata, SPOOL_DIR), cmd.after, size);
      } finally {
        close();
      }
    });
}

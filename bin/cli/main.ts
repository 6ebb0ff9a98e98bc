// The lifeboat CLI: restores from the bucket and the key alone, with no console, catalog or worker.
// Every command prints one clear line and exits non-zero on failure (exit codes in ./errors.ts).
import { Command, CommanderError } from 'commander';
import { registerBackup } from './commands/backup';
import { registerDatabase } from './commands/database';
import { registerDatabasePhysical } from './commands/database-physical';
import { registerDatabaseBinlog } from './commands/database-binlog';
import { registerInit } from './commands/init';
import { registerKey } from './commands/key';
import { registerLocks } from './commands/locks';
import { registerMaintenance } from './commands/maintenance';
import { registerRestore } from './commands/restore';
import { registerSnapshots } from './commands/snapshots';
import { registerStats } from './commands/stats';
import { registerVerify } from './commands/verify';
import { registerWal, WAL_FETCH_FATAL } from './commands/wal';
import type { GlobalOptions } from './context';
import { describeError, EXIT, exitCodeFor } from './errors';
import { loadEnvFile } from './env-file';

type Register = (program: Command, globals: () => GlobalOptions) => void;

export function buildProgram(extra: Register[] = []): Command {
  const program = new Command('lifeboat')
    .description('Lifeboat backup repository tool')
    .option('-r, --repo <repository>', 'repository: s3://bucket/prefix or a directory (default LIFEBOAT_REPOSITORY)')
    .option('--endpoint <url>', 'S3 endpoint (default LIFEBOAT_S3_ENDPOINT; empty for AWS)')
    .option('--region <region>', 'S3 region (default LIFEBOAT_S3_REGION or us-east-1)')
    .option('--password-file <file>', 'file holding the repository password (default LIFEBOAT_PASSWORD_FILE / LIFEBOAT_PASSWORD)')
    .option('--cache-dir <dir>', 'local cache of tree blobs (default LIFEBOAT_CACHE_DIR, else ~/.cache/lifeboat)')
    .option('--no-cache', 'do not use or fill the local cache')
    .option('--json', 'print results as JSON')
    .option('--env-file <file>', 'read KEY=VALUE settings (LIFEBOAT_REPOSITORY, LIFEBOAT_PASSWORD_FILE...) from this file first')
    .hook('preAction', () => {
      const file = program.opts<{ envFile?: string }>().envFile;
      if (file) loadEnvFile(file);
    })
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  const globals = (): GlobalOptions => {
    const o = program.opts<{ repo?: string; endpoint?: string; region?: string; passwordFile?: string; json?: boolean; cacheDir?: string; cache?: boolean }>();
    return { repository: o.repo, endpoint: o.endpoint, region: o.region, passwordFile: o.passwordFile, json: o.json, cacheDir: o.cacheDir, cache: o.cache };
  };
  registerInit(program, globals);
  registerBackup(program, globals);
  registerSnapshots(program, globals);
  registerRestore(program, globals);
  registerDatabase(program, globals);
  registerDatabasePhysical(program, globals);
  registerDatabaseBinlog(program, globals);
  registerVerify(program, globals);
  registerKey(program, globals);
  registerStats(program, globals);
  registerWal(program, globals);
  registerLocks(program, globals);
  registerMaintenance(program, globals);
  for (const register of extra) register(program, globals);
  if (extra.length === 0) program.addHelpText('after', '\nAlso: catalog sync --storage-target <name> (rebuilds the console catalog from the repository; needs DATABASE_URL)');
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    // `catalog` needs the console's generated database client: it is loaded only when that command runs, so
    // every other command works on a machine that has nothing but the bucket and the key.
    const extra = argv.slice(2).includes('catalog') ? [(await import('./commands/catalog')).registerCatalog] : [];
    const program = buildProgram(extra);
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    // For wal-fetch only "not archived" may exit 1: PostgreSQL would take any low status as the end of the
    // archive and finish recovery early, so every other failure (a bad option, an unreadable --env-file) is fatal.
    const fatal = argv.slice(2).includes('wal-fetch') ? WAL_FETCH_FATAL : undefined;
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : (fatal ?? EXIT.usage);
    process.stderr.write(`lifeboat: ${describeError(err)}\n`);
    return fatal ?? exitCodeFor(err);
  }
}

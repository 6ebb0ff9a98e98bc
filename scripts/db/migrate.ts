// CLI for the offline migration runner (Prisma's native schema engine cannot be downloaded; this drives
// @prisma/schema-engine-wasm through @prisma/adapter-pg, keeping Prisma's migrations layout and table).
//   tsx scripts/db/migrate.ts deploy                        apply pending migrations to DATABASE_URL
//   tsx scripts/db/migrate.ts status                        applied/pending/drift; exit 1 unless up to date
//   tsx scripts/db/migrate.ts create <name> [--empty]       new migration from schema.prisma changes
//   tsx scripts/db/migrate.ts resolve --rolled-back|--applied <migration>   like `prisma migrate resolve`
// Exit codes: 0 ok, 1 failure / not up to date, 2 usage error or DATABASE_URL missing.
// The same functions are exported for in-process use (tests): see commands.ts and status.ts.
import { pathToFileURL } from 'node:url';
import { migrateCreate, migrateDeploy, migrateResolve } from './commands';
import { DATABASE_URL_HINT } from './pg-connection';
import { migrateStatus } from './status';

export { migrateCreate, migrateDeploy, migrateResolve, type DeployResult } from './commands';
export { migrateStatus, type StatusResult } from './status';
export type { MigrateOptions } from './session';

const USAGE =
  'usage: tsx scripts/db/migrate.ts deploy | status | create <name> [--empty] | resolve --rolled-back|--applied <migration>';

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const positional = rest.filter((a) => !a.startsWith('--'));
  if (!command || !['deploy', 'status', 'create', 'resolve'].includes(command)) {
    console.error(USAGE);
    return 2;
  }
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error(`DATABASE_URL is not set: ${DATABASE_URL_HINT}`);
    return 2;
  }
  try {
    switch (command) {
      case 'deploy':
        await migrateDeploy(databaseUrl);
        return 0;
      case 'status':
        return (await migrateStatus(databaseUrl)).ok ? 0 : 1;
      case 'create':
        if (!positional[0]) break;
        await migrateCreate(databaseUrl, positional[0], { empty: rest.includes('--empty') });
        return 0;
      case 'resolve': {
        const as = rest.includes('--applied') ? 'applied' : rest.includes('--rolled-back') ? 'rolled-back' : null;
        if (!as || !positional[0]) break;
        await migrateResolve(databaseUrl, positional[0], as);
        return 0;
      }
    }
    console.error(USAGE);
    return 2;
  } catch (err) {
    console.error(`migrate ${command} failed: ${err instanceof Error ? err.message : String(err)}`);
    if (process.env.LIFEBOAT_MIGRATE_DEBUG && err instanceof Error) console.error(err.stack);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // pg pools and the wasm runtime keep the event loop alive: always exit explicitly.
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

// Migration commands that change things, callable in-process (migrate.ts is the thin CLI).
// Contract:
//   migrateDeploy(url, opts)        applies pending migrations from prisma/migrations (creates the database if it
//                                   does not exist) and records them in `_prisma_migrations` exactly like `prisma
//                                   migrate deploy` (checksum = sha256 of migration.sql). Idempotent. Each
//                                   migration.sql runs as one multi-statement query, i.e. atomically.
//   migrateCreate(url, name, opts)  writes prisma/migrations/<UTC timestamp>_<name>/migration.sql (+ lockfile) for
//                                   the difference between schema.prisma and the migrations; returns null and
//                                   prints "no changes" when there is none. Replays the migrations on a temporary
//                                   shadow database on the same server (role needs CREATEDB); never touches data.
//   migrateResolve(url, name, as)   marks a migration 'applied' or 'rolled-back' (like `prisma migrate resolve`).
// All throw Error (DbConnectError for connection problems: one line naming host:port); output goes to opts.log.
import { readFile } from 'node:fs/promises';
import { sanitizeMigrationName, writeMigration, type WrittenMigration } from './migrations-dir';
import { engineErrorMessage } from './wasm-engine';
import { context, ensureDatabase, loadMigrations, NO_FILTERS, shown, withEngine, type MigrateOptions } from './session';

export interface DeployResult {
  applied: string[];
  total: number;
  durationMs: number;
}

export async function migrateDeploy(databaseUrl: string, opts: MigrateOptions = {}): Promise<DeployResult> {
  const started = Date.now();
  const ctx = context(databaseUrl, opts);
  const list = await loadMigrations(ctx);
  await ensureDatabase(ctx, opts.createDatabase ?? true);
  const applied = await withEngine(ctx, async (engine) => {
    const diag = await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: NO_FILTERS });
    if (diag.failedMigrationNames.length) {
      const names = diag.failedMigrationNames.join(', ');
      throw new Error(
        `${ctx.conn.display} has failed migrations: ${names}. Repair the database by hand, then run ` +
          '`tsx scripts/db/migrate.ts resolve --rolled-back <name>` (or --applied) and deploy again.',
      );
    }
    for (const name of diag.editedMigrationNames) ctx.log(`warning: ${name}/migration.sql was edited after it was applied`);
    const out = await engine.applyMigrations({ migrationsList: list, filters: NO_FILTERS });
    return out.appliedMigrationNames;
  });
  const durationMs = Date.now() - started;
  if (applied.length === 0) {
    ctx.log(`No pending migrations: ${ctx.conn.display} is up to date (${list.migrationDirectories.length} migrations).`);
  } else {
    ctx.log(`Applied ${applied.length} migration(s) to ${ctx.conn.display} in ${durationMs} ms:`);
    for (const name of applied) ctx.log(`  ${name}`);
  }
  return { applied, total: list.migrationDirectories.length, durationMs };
}

function utcTimestamp(d = new Date()): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function migrateCreate(
  databaseUrl: string,
  name: string,
  opts: MigrateOptions & { empty?: boolean } = {},
): Promise<WrittenMigration | null> {
  const migrationName = sanitizeMigrationName(name);
  if (!migrationName) throw new Error('A migration name is required, e.g. `create add_user_avatar`.');
  const ctx = context(databaseUrl, opts);
  const list = await loadMigrations(ctx);
  await ensureDatabase(ctx, opts.createDatabase ?? true);
  const schemaFiles = [{ path: ctx.schemaPath, content: await readFile(ctx.schemaPath, 'utf8') }];
  const out = await withEngine(ctx, async (engine) => {
    // The wasm engine's createMigration has no shadow-database factory of its own: it reads the migrations'
    // schema from the engine cache, which diagnoseMigrationHistory (with a shadow database) fills first.
    await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: true, filters: NO_FILTERS });
    try {
      const r = await engine.createMigration({
        draft: Boolean(opts.empty), migrationName, migrationsList: list, schema: { files: schemaFiles }, filters: NO_FILTERS,
      });
      return { name: r.generatedMigrationName, script: r.migrationScript, extension: r.extension, provider: r.connectorType as string };
    } catch (err) {
      if (!/shadow DB must be provided/i.test(engineErrorMessage(err))) throw err;
      // Fallback: the engine's diff from the migrations (replayed on a shadow database) to the schema.
      const d = await engine.diff({
        from: { tag: 'migrations', ...list }, to: { tag: 'schemaDatamodel', files: schemaFiles },
        script: true, exitCode: true, filters: NO_FILTERS,
      });
      const script = d.exitCode === 2 ? d.stdout : opts.empty ? '-- This is an empty migration.' : null;
      return { name: `${utcTimestamp()}_${migrationName}`, script, extension: 'sql', provider: 'postgresql' };
    }
  });
  if (out.script === null || out.script === undefined) {
    ctx.log('no changes');
    return null;
  }
  const written = await writeMigration({
    baseDir: list.baseDir, generatedName: out.name, extension: out.extension, script: out.script, provider: out.provider,
  });
  ctx.log(`Created ${shown(written.file)}`);
  return written;
}

export async function migrateResolve(
  databaseUrl: string,
  migrationName: string,
  as: 'applied' | 'rolled-back',
  opts: MigrateOptions = {},
): Promise<void> {
  const ctx = context(databaseUrl, opts);
  const list = await loadMigrations(ctx);
  await ensureDatabase(ctx, false);
  await withEngine(ctx, async (engine) => {
    if (as === 'applied') await engine.markMigrationApplied({ migrationName, migrationsList: list });
    else await engine.markMigrationRolledBack({ migrationName });
  });
  ctx.log(`Marked ${migrationName} as ${as} in ${ctx.conn.display}.`);
}

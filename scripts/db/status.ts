// Read-only migration status (`tsx scripts/db/migrate.ts status`).
// Contract: migrateStatus(url, opts) prints and returns applied / pending / failed / edited migrations, migrations
// known only to the database, drift (live schema != what the applied migrations produce, checked on a temporary
// shadow database) and whether schema.prisma has changes no migration contains. `ok` is false when anything is
// pending, failed, unknown, drifted or the checks could not run; schema changes alone keep `ok` true.
// A missing database is not an error: everything is pending. Never writes to the database.
import { readFile } from 'node:fs/promises';
import { migrationNames } from './migrations-dir';
import { DbConnectError, probeDatabase, withClient, type PgConnection } from './pg-connection';
import { engineErrorMessage } from './wasm-engine';
import { context, loadMigrations, NO_FILTERS, shown, withEngine, type MigrateOptions } from './session';

export interface StatusResult {
  ok: boolean;
  databaseExists: boolean;
  applied: string[];
  pending: string[];
  failed: string[];
  edited: string[];
  /** Applied in the database but missing from prisma/migrations. */
  unknownInDatabase: string[];
  /** Set when the live schema differs from what the applied migrations produce. */
  drift: string | null;
  /** schema.prisma has changes no migration contains yet (informational, does not make `ok` false). */
  schemaChanges: boolean;
  /** The drift/schema checks could not run (e.g. a migration fails on the shadow database). */
  checkError: string | null;
}

async function appliedFromTable(conn: PgConnection): Promise<string[]> {
  return withClient(conn, async (c) => {
    const r = await c.query<{ migration_name: string }>(
      'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ' +
        'ORDER BY started_at, migration_name',
    );
    return r.rows.map((row) => row.migration_name);
  });
}

export async function migrateStatus(databaseUrl: string, opts: MigrateOptions = {}): Promise<StatusResult> {
  const ctx = context(databaseUrl, opts);
  const list = await loadMigrations(ctx);
  const names = migrationNames(list);
  const result: StatusResult = {
    ok: true, databaseExists: true, applied: [], pending: [], failed: [], edited: [],
    unknownInDatabase: [], drift: null, schemaChanges: false, checkError: null,
  };
  try {
    await probeDatabase(ctx.conn);
  } catch (err) {
    if (!(err instanceof DbConnectError) || err.code !== 'no-database') throw err;
    Object.assign(result, { databaseExists: false, pending: names, ok: names.length === 0 });
    ctx.log(`${err.message}: ${names.length} migration(s) pending.`);
    return result;
  }
  await withEngine(ctx, async (engine) => {
    const diag = await engine.diagnoseMigrationHistory({ migrationsList: list, optInToShadowDatabase: false, filters: NO_FILTERS });
    result.failed = diag.failedMigrationNames;
    result.edited = diag.editedMigrationNames;
    const h = diag.history;
    if (h?.diagnostic === 'databaseIsBehind' || h?.diagnostic === 'historiesDiverge') result.pending = h.unappliedMigrationNames;
    if (h?.diagnostic === 'migrationsDirectoryIsBehind' || h?.diagnostic === 'historiesDiverge') {
      result.unknownInDatabase = h.unpersistedMigrationNames;
    }
    if (diag.hasMigrationsTable) result.applied = await appliedFromTable(ctx.conn);
    // Both checks replay the migrations on a shadow database; a broken migration makes them fail.
    try {
      const dev = await engine.devDiagnostic({ migrationsList: list, filters: NO_FILTERS });
      if (dev.action.tag === 'reset') result.drift = dev.action.reason;
      const schema = await readFile(ctx.schemaPath, 'utf8');
      const diff = await engine.diff({
        from: { tag: 'migrations', ...list },
        to: { tag: 'schemaDatamodel', files: [{ path: ctx.schemaPath, content: schema }] },
        script: false, exitCode: true, filters: NO_FILTERS,
      });
      result.schemaChanges = diff.exitCode === 2;
    } catch (err) {
      result.checkError = engineErrorMessage(err, engine);
    }
  });
  result.ok = !result.pending.length && !result.failed.length && !result.unknownInDatabase.length &&
    !result.drift && !result.checkError;

  ctx.log(`${ctx.conn.display}: ${names.length} migration(s) in ${shown(ctx.migrationsDir)}`);
  for (const n of result.applied) ctx.log(`  applied  ${n}`);
  for (const n of result.pending) ctx.log(`  pending  ${n}`);
  for (const n of result.failed) ctx.log(`  FAILED   ${n}`);
  for (const n of result.unknownInDatabase) ctx.log(`  unknown  ${n} (in the database, not in the migrations folder)`);
  for (const n of result.edited) ctx.log(`  edited   ${n} (migration.sql changed after it was applied)`);
  if (result.checkError) ctx.log(`Drift check failed: ${result.checkError}`);
  if (result.drift) ctx.log(`Drift: ${result.drift.trim().replace(/\n/g, '\n  ')}`);
  if (result.schemaChanges) {
    ctx.log('Note: schema.prisma has changes that no migration contains yet (npm run db:migration:create -- <name>).');
  }
  ctx.log(result.ok ? 'Status: up to date.' : `Status: NOT up to date${result.pending.length ? ` (${result.pending.length} pending)` : ''}.`);
  return result;
}

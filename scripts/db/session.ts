// Shared plumbing for the migration commands: options, default paths, database probing/creation and an
// engine session that always frees the engine and closes every pool / shadow database it opened.
// Contract: `withEngine(ctx, fn)` runs fn with a fresh SchemaEngine; errors come out as Error with a readable
// one-line message (DbConnectError untouched).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MigrationList, SchemaFilter } from '@prisma/schema-engine-wasm';
import { createMigrationAdapterFactory } from './pg-adapter';
import { createDatabase, DbConnectError, parseDatabaseUrl, probeDatabase, type PgConnection } from './pg-connection';
import { assertReadable, readMigrationsList } from './migrations-dir';
import { engineErrorMessage, openSchemaEngine, type SchemaEngine } from './wasm-engine';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NO_FILTERS: SchemaFilter = { externalTables: [], externalEnums: [] };

export interface MigrateOptions {
  /** Default: <project>/prisma/schema.prisma */
  schemaPath?: string;
  /** Default: <project>/prisma/migrations */
  migrationsDir?: string;
  /** Output lines (default console.log). Pass () => {} for silence. */
  log?: (line: string) => void;
  /** deploy/create: create the database when it does not exist (default true, like Prisma). */
  createDatabase?: boolean;
}

export interface Ctx {
  conn: PgConnection;
  schemaPath: string;
  migrationsDir: string;
  log: (line: string) => void;
}

export function context(databaseUrl: string, opts: MigrateOptions): Ctx {
  const conn = parseDatabaseUrl(databaseUrl);
  if (conn.schema && conn.schema !== 'public') {
    // The runtime client (lib/db) does not pass a schema to PrismaPg either: everything lives in `public`.
    throw new Error(`DATABASE_URL ?schema=${conn.schema} is not supported: the catalog lives in the public schema`);
  }
  return {
    conn,
    schemaPath: path.resolve(opts.schemaPath ?? path.join(PROJECT_ROOT, 'prisma/schema.prisma')),
    migrationsDir: path.resolve(opts.migrationsDir ?? path.join(PROJECT_ROOT, 'prisma/migrations')),
    log: opts.log ?? ((line) => console.log(line)),
  };
}

/** Path for messages: relative to the working directory when inside it. */
export function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith('..') ? rel : p;
}

/** Probes the database; creates it when it is missing and `create` is true (otherwise rethrows). */
export async function ensureDatabase(ctx: Ctx, create: boolean): Promise<void> {
  try {
    await probeDatabase(ctx.conn);
    return;
  } catch (err) {
    if (!(err instanceof DbConnectError) || err.code !== 'no-database' || !create) throw err;
  }
  await createDatabase(ctx.conn);
  ctx.log(`Created database "${ctx.conn.database}" on ${ctx.conn.host}:${ctx.conn.port}`);
}

export async function loadMigrations(ctx: Ctx): Promise<MigrationList> {
  const list = await readMigrationsList(ctx.migrationsDir);
  assertReadable(list);
  return list;
}

export async function withEngine<T>(ctx: Ctx, fn: (engine: SchemaEngine) => Promise<T>): Promise<T> {
  const factory = createMigrationAdapterFactory(ctx.conn);
  let engine: SchemaEngine | undefined;
  try {
    engine = await openSchemaEngine(ctx.schemaPath, factory);
    return await fn(engine);
  } catch (err) {
    if (err instanceof DbConnectError) throw err;
    throw new Error(engineErrorMessage(err, engine));
  } finally {
    try {
      engine?.free();
    } catch {
      /* already freed */
    }
    await factory.close();
  }
}

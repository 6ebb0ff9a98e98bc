// Migration-aware driver adapter factory for the wasm schema engine, built on @prisma/adapter-pg 7.10 with
// workarounds for its bugs:
//   1. Postgres's internal "char" type (OID 18), returned by catalog queries, is rejected ("Column type 'char'
//      could not be deserialized"): result fields with OID 18 are relabelled as text (25) by a pg.Client subclass.
//   2. `new PrismaPg({connectionString})` makes the shadow-database pool connect to the main database (pg lets
//      connectionString override `database`): we always pass parsed fields (pg-connection.ts).
//   3. The shadow database is dropped before its pool closes ("being accessed by other users"): our own
//      connectToShadowDb closes the pool first, then drops (WITH (FORCE) as a last resort).
// Also: executeScript sends the whole script as ONE simple query (adapter-pg splits on ';', which breaks
// literals/function bodies; the native engine also sends one simple query, so a migration is atomic).
// Contract: createMigrationAdapterFactory(conn) -> factory; call factory.close() when done (disposes adapters
// still open and drops any shadow database left behind). The role needs CREATEDB for shadow databases.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import type { SqlDriverAdapter, SqlMigrationAwareDriverAdapterFactory } from '@prisma/driver-adapter-utils';
import { noCreateDb, pgConfig, quoteIdent, withClient, type PgConnection } from './pg-connection';

const PG_CHAR_OID = 18;
const PG_TEXT_OID = 25;

type FieldsCarrier = { fields?: Array<{ dataTypeID: number }> } | null | undefined;

function relabelChar(res: FieldsCarrier | FieldsCarrier[]): void {
  for (const r of Array.isArray(res) ? res : [res]) {
    for (const f of r?.fields ?? []) if (f.dataTypeID === PG_CHAR_OID) f.dataTypeID = PG_TEXT_OID;
  }
}

/** pg.Client that reports "char" columns as text (workaround 1). Used through the Pool's `Client` option. */
export class CharAsTextClient extends pg.Client {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const cbIndex = args.findIndex((a) => typeof a === 'function');
    if (cbIndex >= 0) {
      const cb = args[cbIndex] as (err: unknown, res: unknown) => void;
      args[cbIndex] = (err: unknown, res: FieldsCarrier) => {
        if (!err) relabelChar(res);
        cb(err, res);
      };
      return (super.query as (...a: unknown[]) => unknown)(...args);
    }
    const ret = (super.query as (...a: unknown[]) => unknown)(...args);
    if (ret && typeof (ret as Promise<unknown>).then === 'function') {
      return (ret as Promise<FieldsCarrier>).then((res) => (relabelChar(res), res));
    }
    return ret;
  }
}

export interface MigrationAdapterFactory extends SqlMigrationAwareDriverAdapterFactory {
  /** Disposes adapters still open and drops leftover shadow databases. Safe to call twice. */
  close(): Promise<void>;
}

function poolConfig(conn: PgConnection, database?: string): pg.PoolConfig {
  return {
    ...pgConfig(conn, database ? { database } : {}),
    Client: CharAsTextClient as unknown as pg.PoolConfig['Client'],
    max: 4,
  } as pg.PoolConfig;
}

type AdapterWithPool = SqlDriverAdapter & { underlyingDriver(): pg.Pool; onError(e: unknown): never };

/** executeScript as one simple query (multi-statement, implicit transaction), like the native engine. */
function patchExecuteScript(adapter: SqlDriverAdapter): void {
  const a = adapter as AdapterWithPool;
  a.executeScript = async (script: string) => {
    try {
      await a.underlyingDriver().query(script);
    } catch (err) {
      a.onError(err);
    }
  };
}

async function dropDatabase(conn: PgConnection, name: string): Promise<void> {
  await withClient(conn, async (c) => {
    try {
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    } catch (err) {
      if ((err as { code?: string }).code !== '55006') throw err; // 55006: still in use
      await c.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    }
  });
}

export function createMigrationAdapterFactory(conn: PgConnection): MigrationAdapterFactory {
  const options = conn.schema ? { schema: conn.schema } : undefined;
  const main = new PrismaPg(poolConfig(conn), options);
  const open = new Set<SqlDriverAdapter>();
  const shadows = new Set<string>();

  const track = (adapter: SqlDriverAdapter, afterDispose?: () => Promise<void>): SqlDriverAdapter => {
    patchExecuteScript(adapter);
    const dispose = adapter.dispose.bind(adapter);
    let disposed = false;
    adapter.dispose = async () => {
      if (disposed) return;
      disposed = true;
      open.delete(adapter);
      await dispose(); // closes the pool (pg.Pool.end) ...
      await afterDispose?.(); // ... before the shadow database is dropped (workaround 3)
    };
    open.add(adapter);
    return adapter;
  };

  return {
    provider: main.provider,
    adapterName: main.adapterName,
    async connect() {
      return track(await main.connect());
    },
    async connectToShadowDb() {
      const name = `prisma_migrate_shadow_db_${randomUUID()}`;
      await withClient(conn, async (c) => {
        try {
          await c.query(`CREATE DATABASE ${quoteIdent(name)}`);
        } catch (err) {
          if ((err as { code?: string }).code === '42501') throw noCreateDb(conn, 'cannot create the shadow database');
          throw err;
        }
      });
      shadows.add(name);
      const shadow = new PrismaPg(poolConfig(conn, name), options);
      return track(await shadow.connect(), async () => {
        await dropDatabase(conn, name);
        shadows.delete(name);
      });
    },
    async close() {
      for (const adapter of [...open]) await adapter.dispose().catch(() => {});
      for (const name of [...shadows]) {
        await dropDatabase(conn, name).catch(() => {});
        shadows.delete(name);
      }
    },
  };
}

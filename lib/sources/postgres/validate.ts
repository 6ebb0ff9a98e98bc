// Checks a restored database: the validation manifest (manifest.ts) recomputed and compared, and the
// source's smoke queries. Both report, never throw, for what they find in the data; connection failures
// (PgConnectionError) and aborts do throw. Read-only: smoke queries run in a READ ONLY transaction that is
// rolled back, and must be a single statement, so a query with side effects fails instead of changing the
// restored data.
import type pg from 'pg';
import { DETERMINISTIC_SESSION, closeClient, connectClient, type PgConnection } from './connection';
import type { DatabaseEntry } from './format';
import { validateAgainst, type TableCheck, type ValidationReport } from './manifest';

export type SmokeResult = { query: string; ok: boolean; rows: number; error?: string };

/** Recomputes row counts and checksums on `connection.database` and compares them with `expected`. */
export async function validateRestoredDatabase(connection: PgConnection, expected: TableCheck[] | DatabaseEntry, signal?: AbortSignal): Promise<ValidationReport> {
  const tables = Array.isArray(expected) ? expected : expected.tables;
  const client = await connectClient(connection, connection.database, signal);
  let done = false;
  try {
    await client.query(DETERMINISTIC_SESSION);
    const report = await validateAgainst(client, tables, signal);
    done = true;
    return report;
  } finally {
    await closeClient(client, connection, connection.database, !done);
  }
}

/** Runs each query (one statement) in a READ ONLY transaction, rolled back; a query passes when it returns at least one row. */
export async function runSmokeQueries(connection: PgConnection, queries: string[], signal?: AbortSignal): Promise<SmokeResult[]> {
  const client = await connectClient(connection, connection.database, signal);
  let done = false;
  try {
    const out: SmokeResult[] = [];
    for (const query of queries) {
      signal?.throwIfAborted();
      try {
        await client.query('BEGIN READ ONLY');
        // The extended protocol takes exactly one statement: "COMMIT; DELETE ..." cannot leave the READ ONLY transaction.
        const res = await client.query({ text: query, queryMode: 'extended' } as pg.QueryConfig);
        const rows = res.rows?.length ?? 0;
        out.push(rows > 0 ? { query, ok: true, rows } : { query, ok: false, rows, error: 'returned no rows' });
      } catch (err) {
        out.push({ query, ok: false, rows: 0, error: (err as Error).message });
      } finally {
        await client.query('ROLLBACK').catch(() => {});
      }
    }
    done = true;
    return out;
  } finally {
    await closeClient(client, connection, connection.database, !done);
  }
}

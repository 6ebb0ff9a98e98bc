// Checks a restored MySQL/MariaDB database: the validation manifest (manifest.ts) recomputed and compared, and
// the source's smoke queries. Both report, never throw, for what they find in the data; connection failures
// (MysqlConnectionError) and aborts do throw. Read-only: each smoke query runs alone (the driver sends one
// statement, never several) inside START TRANSACTION READ ONLY, rolled back, so a query with side effects on
// tables fails instead of changing the restored data. DDL would commit implicitly and is not stopped by a
// READ ONLY transaction, so only statements that start with a querying keyword are run at all, and never
// SELECT ... INTO OUTFILE/DUMPFILE (a file on the server).
import type { SmokeResult } from '../postgres/validate';
import { closeSession, connectSession, type MysqlConnection } from './connection';
import type { MysqlDatabaseEntry, MysqlTableCheck } from './format';
import { validateAgainst, type ValidationReport } from './manifest';

export type { SmokeResult };

const QUERY_START = /^\s*\(*\s*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXPLAIN|VALUES|TABLE)\b/i;
const WRITES_FILE = /\bINTO\s+(OUTFILE|DUMPFILE)\b/i;

/** Why a smoke query is refused before it runs, or null. */
function refusal(query: string): string | null {
  if (!QUERY_START.test(query)) return 'only a read-only query (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN, VALUES, TABLE) may be a smoke query';
  if (WRITES_FILE.test(query)) return 'a smoke query may not write a file (INTO OUTFILE/DUMPFILE)';
  return null;
}

/** Recomputes row counts and checksums of `connection.database` and compares them with `expected`. */
export async function validateRestoredDatabase(connection: MysqlConnection, expected: MysqlTableCheck[] | MysqlDatabaseEntry, signal?: AbortSignal): Promise<ValidationReport> {
  const tables = Array.isArray(expected) ? expected : expected.tables;
  const session = await connectSession(connection, connection.database, signal);
  let done = false;
  try {
    const report = await validateAgainst(session, connection.database, tables, signal);
    done = true;
    return report;
  } finally {
    await closeSession(session, connection, !done);
  }
}

/** Runs each query in a READ ONLY transaction, rolled back; a query passes when it returns at least one row. */
export async function runSmokeQueries(connection: MysqlConnection, queries: string[], signal?: AbortSignal): Promise<SmokeResult[]> {
  const session = await connectSession(connection, connection.database, signal);
  let done = false;
  try {
    const out: SmokeResult[] = [];
    for (const query of queries) {
      signal?.throwIfAborted();
      const refused = refusal(query);
      if (refused) {
        out.push({ query, ok: false, rows: 0, error: refused });
        continue;
      }
      try {
        await session.query('START TRANSACTION READ ONLY');
        const [rows] = await session.query(query);
        const n = Array.isArray(rows) ? rows.length : 0;
        out.push(n > 0 ? { query, ok: true, rows: n } : { query, ok: false, rows: n, error: Array.isArray(rows) ? 'returned no rows' : 'is not a query that returns rows' });
      } catch (err) {
        out.push({ query, ok: false, rows: 0, error: (err as Error).message });
      } finally {
        await session.query('ROLLBACK').catch(() => {});
      }
    }
    done = true;
    return out;
  } finally {
    await closeSession(session, connection, !done);
  }
}

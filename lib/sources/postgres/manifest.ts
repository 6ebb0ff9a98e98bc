// The validation manifest of a logical backup: per table, its row count and an order-independent checksum,
// taken at backup time and recomputed after a restore.
//
// Checksum "sum-hashtext-v1": sum over the rows of hashtext(ROW(r.*)::text)::bigint, as a decimal string.
// - cheap: one sequential scan per table, no sort, no per-row allocation beyond the row's text (measured
//   about as fast as count(*) on pgbench tables);
// - order-independent: a sum, so the different physical row order after a restore does not matter;
// - deterministic: the row's text form is fixed by DETERMINISTIC_SESSION (UTC, ISO dates, shortest-exact
//   floats, hex bytea) on both sides; hashtext is stable within a PostgreSQL major version and has not changed
//   since 8.4, but a restore onto a server of a different CPU endianness may differ (reported, not hidden);
// - strength: a 32-bit hash per row, so a changed row goes unnoticed with probability 2^-32; it is a
//   restore check, not a defence against an adversary (the repository's MACs are).
// Tables covered are those pg_dump stores rows of: ordinary and unlogged tables and partitions (relkind r),
// outside pg_catalog/information_schema/pg_toast, not temporary, not owned by an extension. Partitioned
// parents, views, materialized views (recomputed on restore), sequences and foreign tables are not.
// Pure SQL over a `pg` client; the caller decides the transaction (the backup runs it in the exported
// snapshot the dump uses).
import type pg from 'pg';
import { quoteIdent } from './connection';

export const CHECKSUM_ALGORITHM = 'sum-hashtext-v1';

export type TableCheck = { schema: string; table: string; rows: number; checksum: string | null };

export type ManifestMode = 'checksum' | 'count';

const TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence IN ('p', 'u')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2`;

export async function listTables(client: pg.Client): Promise<{ schema: string; table: string }[]> {
  return (await client.query<{ schema: string; table: string }>(TABLES_SQL)).rows;
}

export function tableCheckSql(schema: string, table: string, mode: ManifestMode): string {
  const rel = `${quoteIdent(schema)}.${quoteIdent(table)}`;
  const sum = mode === 'checksum' ? `, coalesce(sum(hashtext(ROW(r.*)::text)::bigint), 0)::text AS checksum` : `, NULL::text AS checksum`;
  return `SELECT count(*)::text AS rows${sum} FROM ONLY ${rel} AS r`;
}

/** Row count and checksum of every covered table, one query per table, in (schema, table) order. */
export async function computeManifest(client: pg.Client, mode: ManifestMode, signal?: AbortSignal): Promise<TableCheck[]> {
  const out: TableCheck[] = [];
  for (const { schema, table } of await listTables(client)) {
    signal?.throwIfAborted();
    const { rows } = await client.query<{ rows: string; checksum: string | null }>(tableCheckSql(schema, table, mode));
    out.push({ schema, table, rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum });
  }
  return out;
}

export type Mismatch = {
  schema: string;
  table: string;
  problem: 'missing' | 'rows' | 'checksum';
  expected: { rows: number; checksum: string | null };
  actual: { rows: number; checksum: string | null } | null;
};

export type ValidationReport = {
  ok: boolean;
  algorithm: string;
  tablesChecked: number;
  mismatches: Mismatch[];
  /** Tables in the restored database that the manifest does not list (informational). */
  extraTables: string[];
};

/** Recomputes the manifest's tables on `client` and compares; the checksum is compared only when both sides have one. */
export async function validateAgainst(client: pg.Client, expected: TableCheck[], signal?: AbortSignal): Promise<ValidationReport> {
  const mode: ManifestMode = expected.some((t) => t.checksum !== null) ? 'checksum' : 'count';
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const present = await listTables(client);
    const key = (t: { schema: string; table: string }) => JSON.stringify([t.schema, t.table]);
    const have = new Set(present.map(key));
    const wanted = new Set(expected.map(key));
    const mismatches: Mismatch[] = [];
    for (const e of expected) {
      signal?.throwIfAborted();
      const exp = { rows: e.rows, checksum: e.checksum };
      if (!have.has(key(e))) {
        mismatches.push({ schema: e.schema, table: e.table, problem: 'missing', expected: exp, actual: null });
        continue;
      }
      const { rows } = await client.query<{ rows: string; checksum: string | null }>(tableCheckSql(e.schema, e.table, mode));
      const actual = { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
      if (actual.rows !== e.rows) mismatches.push({ schema: e.schema, table: e.table, problem: 'rows', expected: exp, actual });
      else if (e.checksum !== null && actual.checksum !== e.checksum) mismatches.push({ schema: e.schema, table: e.table, problem: 'checksum', expected: exp, actual });
    }
    const extraTables = present.filter((t) => !wanted.has(key(t))).map((t) => `${t.schema}.${t.table}`);
    return { ok: mismatches.length === 0, algorithm: CHECKSUM_ALGORITHM, tablesChecked: expected.length, mismatches, extraTables };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
  }
}

/** "public.t: rows 10 != 9; public.u: missing" for messages. */
export function describeMismatches(ms: Mismatch[]): string {
  return ms
    .map((m) => {
      const name = `${m.schema}.${m.table}`;
      if (m.problem === 'missing') return `${name}: missing`;
      if (m.problem === 'rows') return `${name}: ${m.actual!.rows} rows, expected ${m.expected.rows}`;
      return `${name}: checksum ${m.actual!.checksum}, expected ${m.expected.checksum}`;
    })
    .join('; ');
}

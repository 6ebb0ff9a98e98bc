// The validation manifest of a MySQL/MariaDB logical backup: per table, its row count and an
// order-independent checksum, taken at backup time (in the dump's snapshot: backup.ts) and recomputed after a
// restore.
//
// Checksum "sum-crc32-v1": SUM over the rows of CRC32(CONCAT_WS(',', f(c1), f(c2), ...)), as a decimal string,
// where f(c) = CONCAT(LENGTH(CAST(c AS BINARY)), ':', CAST(c AS BINARY)) and NULL becomes 'N': every column
// (also invisible and generated ones) in ordinal order, as bytes, length-prefixed, so NULL, '' and 'N', and
// values that shift bytes between neighbouring columns, all hash differently. TIMESTAMP values are rendered in
// UTC (connection.ts). One scan per table, no sort. A changed row goes unnoticed with probability 2^-32: a
// restore check, not a defence against an adversary (the repository's MACs are). A row longer than the
// server's max_allowed_packet hashes as NULL on both sides (weaker, never a false mismatch). Float and date
// text forms are stable within a server version; a restore onto another version may differ (reported).
// Tables covered: base tables (and system-versioned ones: current rows) of the database, except engines whose
// rows mariadb-dump does not dump (FEDERATED, CONNECT, SPIDER, MRG_MyISAM, BLACKHOLE...). Views, sequences,
// routines, triggers and events are in the dump, not in the manifest.
// Pure SQL over a `mysql2` session; the caller decides the transaction.
import type { Mismatch, ValidationReport } from '../postgres/manifest';
import { quoteIdent, rowsOf, type MysqlSession } from './connection';
import type { MysqlTableCheck } from './format';

export const CHECKSUM_ALGORITHM = 'sum-crc32-v1';
export type ManifestMode = 'checksum' | 'count';
export type { Mismatch, ValidationReport };

const NO_DATA_ENGINES = ['FEDERATED', 'CONNECT', 'SPIDER', 'MRG_MYISAM', 'MRG_MyISAM', 'BLACKHOLE', 'OQGRAPH', 'SEQUENCE'];

type TableRow = { name: string; engine: string | null };

export async function listTables(session: MysqlSession, database: string): Promise<TableRow[]> {
  const rows = await rowsOf<TableRow>(
    session,
    `SELECT TABLE_NAME AS name, ENGINE AS engine FROM information_schema.TABLES
     WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND (ENGINE IS NULL OR ENGINE NOT IN (?))`,
    [database, NO_DATA_ENGINES],
  );
  return rows.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
}

async function tableCheckSql(session: MysqlSession, database: string, table: string, mode: ManifestMode): Promise<string> {
  const rel = `${quoteIdent(database)}.${quoteIdent(table)}`;
  if (mode === 'count') return `SELECT CAST(COUNT(*) AS CHAR) AS n, NULL AS c FROM ${rel}`;
  const cols = await rowsOf<{ c: string }>(session, 'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [database, table]);
  const parts = cols.map(({ c }) => {
    const b = `CAST(${quoteIdent(c)} AS BINARY)`;
    return `IFNULL(CONCAT(LENGTH(${b}), ':', ${b}), 'N')`;
  });
  return `SELECT CAST(COUNT(*) AS CHAR) AS n, CAST(COALESCE(SUM(CRC32(CONCAT_WS(',', ${parts.join(', ')}))), 0) AS CHAR) AS c FROM ${rel}`;
}

async function checkTable(session: MysqlSession, database: string, table: string, mode: ManifestMode): Promise<{ rows: number; checksum: string | null }> {
  const [r] = await rowsOf<{ n: string; c: string | null }>(session, await tableCheckSql(session, database, table, mode));
  return { rows: Number(r!.n), checksum: r!.c === null ? null : String(r!.c) };
}

/** Row count and checksum of every covered table of `database`, in table-name order. */
export async function computeManifest(session: MysqlSession, database: string, mode: ManifestMode, signal?: AbortSignal): Promise<MysqlTableCheck[]> {
  const out: MysqlTableCheck[] = [];
  for (const t of await listTables(session, database)) {
    signal?.throwIfAborted();
    out.push({ schema: database, table: t.name, engine: t.engine, ...(await checkTable(session, database, t.name, mode)) });
  }
  return out;
}

/**
 * Recomputes the manifest's tables in `database` (by table name: the restored database may have another name)
 * in one REPEATABLE READ READ ONLY transaction and compares; checksums only when the manifest has them.
 */
export async function validateAgainst(session: MysqlSession, database: string, expected: MysqlTableCheck[], signal?: AbortSignal): Promise<ValidationReport> {
  const mode: ManifestMode = expected.some((t) => t.checksum !== null) ? 'checksum' : 'count';
  await session.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await session.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  try {
    const present = new Set((await listTables(session, database)).map((t) => t.name));
    const wanted = new Set(expected.map((t) => t.table));
    const mismatches: Mismatch[] = [];
    for (const e of expected) {
      signal?.throwIfAborted();
      const exp = { rows: e.rows, checksum: e.checksum };
      if (!present.has(e.table)) {
        mismatches.push({ schema: database, table: e.table, problem: 'missing', expected: exp, actual: null });
        continue;
      }
      const actual = await checkTable(session, database, e.table, mode);
      if (actual.rows !== e.rows) mismatches.push({ schema: database, table: e.table, problem: 'rows', expected: exp, actual });
      else if (e.checksum !== null && actual.checksum !== e.checksum) mismatches.push({ schema: database, table: e.table, problem: 'checksum', expected: exp, actual });
    }
    const extraTables = [...present].filter((t) => !wanted.has(t)).map((t) => `${database}.${t}`);
    return { ok: mismatches.length === 0, algorithm: CHECKSUM_ALGORITHM, tablesChecked: expected.length, mismatches, extraTables };
  } finally {
    await session.query('ROLLBACK').catch(() => {});
  }
}

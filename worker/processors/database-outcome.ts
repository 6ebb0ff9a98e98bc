// How a database restore job ends, for dump restores (restore-database.ts) and point-in-time restores
// (recover-database.ts) alike: the validation report trimmed for the job result, the RestoreRequest's status,
// and a failed outcome naming what failed when the data is in place but validation or smoke queries are not.
import type { Db } from '../../lib/db/client';
import type { JobOutcome } from '../processor';

const MAX_MISMATCHES = 50;

type Validation = { ok: boolean; algorithm: string; tablesChecked: number; mismatches: unknown[]; extraTables: string[] };
type Smoke = { ok: boolean };

/** The report in the job result: the first 50 mismatches and extra tables, and how many there were. */
export function validationSummary(v: Validation | null) {
  return v && { ok: v.ok, algorithm: v.algorithm, tablesChecked: v.tablesChecked, mismatches: v.mismatches.slice(0, MAX_MISMATCHES), mismatchCount: v.mismatches.length, extraTables: v.extraTables.slice(0, MAX_MISMATCHES) };
}

/**
 * Records the outcome on the job's RestoreRequest and returns it. `done` says what happened ("restored",
 * "recovered"); `reference` what the validation compared against ("the backup").
 */
export async function databaseRestoreOutcome(
  db: Db, jobRunId: string, summary: object & { targetDatabase: string; ok: boolean }, checks: { validation: Validation | null; smoke: Smoke[] }, done: string, reference: string,
): Promise<JobOutcome> {
  await db.restoreRequest.updateMany({ where: { jobRunId }, data: { status: summary.ok ? 'succeeded' : 'failed' } });
  if (summary.ok) return { status: 'succeeded', result: summary };
  const v = checks.validation;
  const failedSmoke = checks.smoke.filter((s) => !s.ok).length;
  const why = [v && !v.ok ? `validation found ${v.mismatches.length} table(s) differing from ${reference}` : '', failedSmoke ? `${failedSmoke} smoke query(ies) failed` : ''].filter(Boolean).join(' and ');
  return { status: 'failed', result: summary, error: `database ${summary.targetDatabase} was ${done} but ${why}` };
}

/** A job that failed before its outcome: the RestoreRequest fails with it. */
export async function failRestoreRequest(db: Db, jobRunId: string): Promise<void> {
  await db.restoreRequest.updateMany({ where: { jobRunId }, data: { status: 'failed' } }).catch(() => {});
}

// What dump restores (restore-database.ts) and point-in-time restores (recover-database.ts) share: the staging
// server check (defence in depth: production is refused, approvals are not built), progress by phase, and how
// the job ends: the validation report trimmed for the job result, the RestoreRequest's status, and a failed
// outcome naming what failed when the data is in place but validation or smoke queries are not.
import { readEnv } from '../../lib/config/env';
import { loadDatabaseSource, type DatabaseSource } from '../../lib/catalog/database-connections';
import { openTargetRepository } from '../../lib/catalog/repositories';
import type { Db } from '../../lib/db/client';
import type { Repository } from '../../lib/repo/repository';
import type { JobReporter, Progress } from '../../lib/jobs/reporter';
import { PermanentJobError, type JobOutcome } from '../processor';

/** The catalog source whose server receives the database: it exists, is of `kind`, and is not production. */
export async function stagingServerSource(db: Db, serverSourceId: string, kind: string, what: string) {
  const server = await db.source.findUnique({ where: { id: serverSourceId } });
  if (!server) throw new PermanentJobError(`source ${serverSourceId} (the target server) no longer exists`);
  if (server.kind !== kind) throw new PermanentJobError(`source ${server.name} is a ${server.kind} server; ${what}`);
  if (server.environment === 'production') throw new PermanentJobError(`source ${server.name} is production: restoring onto it needs an approval, which this version cannot record`);
  return server;
}

type SourceRow = Parameters<typeof loadDatabaseSource>[0] & { id: string };
type Of<K extends DatabaseSource['kind']> = Extract<DatabaseSource, { kind: K }>;

/**
 * The staging server's settings (`target`) and the backed-up source's (`backedUp`: its smoke queries and, for
 * PostgreSQL, its role), both of `kind`, with their passwords opened; PermanentJobError when either is unusable.
 */
export async function loadRestoreSources<K extends DatabaseSource['kind']>(db: Db, source: SourceRow, serverSourceId: string, kind: K, what: string) {
  const server = await stagingServerSource(db, serverSourceId, kind, what);
  const { LIFEBOAT_SECRET_KEY } = readEnv(['LIFEBOAT_SECRET_KEY']);
  let target: DatabaseSource;
  let backedUp: DatabaseSource;
  try {
    target = loadDatabaseSource(server, LIFEBOAT_SECRET_KEY);
    backedUp = source.id === server.id ? target : loadDatabaseSource(source, LIFEBOAT_SECRET_KEY);
  } catch (err) {
    throw new PermanentJobError((err as Error).message);
  }
  if (target.kind !== kind || backedUp.kind !== kind) throw new PermanentJobError(`${what}: both sources must be ${kind} sources`);
  return { server, target: target as Of<K>, backedUp: backedUp as Of<K>, secretKey: LIFEBOAT_SECRET_KEY };
}

type Restored = { sourceDatabase: string; targetDatabase: string; bytes: number; seconds: number; ok: boolean; validation: Validation | null; smoke: Smoke[] };

/** The fields every database restore's job result has: where it went, what was restored, and the checks. */
export function restoredSummary(server: { id: string; name: string }, where: string, r: Restored, seconds = r.seconds) {
  return {
    server: where,
    serverSourceId: server.id,
    serverSourceName: server.name,
    sourceDatabase: r.sourceDatabase,
    targetDatabase: r.targetDatabase,
    bytes: r.bytes,
    seconds,
    ok: r.ok,
    validation: validationSummary(r.validation),
    smoke: r.smoke,
  };
}

/**
 * An engine's progress callback reporting to the job: each phase covers [from, to] of the bar, `share` says how
 * far into its phase a report is (0..1), and a new phase becomes the job's step text.
 */
export function phaseProgress<P extends string, R extends { phase: P; bytesDone: number; bytesTotal: number }>(
  reporter: JobReporter, spans: Record<P, readonly [number, number]>, steps: Record<P, string>, share: (p: R) => number,
): (p: R) => void {
  let phase: P | undefined;
  return (p) => {
    const [from, to] = spans[p.phase];
    const progress: Progress = { fraction: from + (to - from) * Math.max(0, Math.min(1, share(p))), bytesDone: p.bytesDone, bytesTotal: p.bytesTotal };
    if (p.phase !== phase) {
      phase = p.phase;
      void reporter.step(steps[p.phase], progress);
    } else void reporter.progress(progress);
  };
}

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

/**
 * Opens the storage target's repository, takes its restore lock (nothing may remove what the restore reads)
 * and runs `work` with a signal that also fires when the lock is lost. A failure fails the job's
 * RestoreRequest too. The lock is released and the repository closed whatever happens.
 */
export async function withLockedRepository<T>(
  db: Db, storageTarget: Parameters<typeof openTargetRepository>[1], secretKey: string,
  ctx: { jobRunId: string; reporter: JobReporter; signal: AbortSignal }, work: (repo: Repository, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  try {
    await ctx.reporter.step('opening the repository', { fraction: 0.01 });
    const { repo, close } = await openTargetRepository(db, storageTarget, secretKey, { create: false, signal: ctx.signal });
    try {
      const lock = await repo.lock('restore', { signal: ctx.signal });
      try {
        return await work(repo, AbortSignal.any([ctx.signal, lock.signal]));
      } finally {
        await lock.release().catch(() => {});
      }
    } finally {
      close();
    }
  } catch (err) {
    await failRestoreRequest(db, ctx.jobRunId);
    throw err;
  }
}

// Job runs as the console shows them (BigInt columns as numbers, dates as ISO strings).
import type { Db } from '../db/client';
import type { JobRun } from '../db/generated/client';

export type PublicJobRun = {
  id: string;
  kind: string;
  status: string;
  step: string | null;
  progress: number;
  bytesDone: number;
  bytesTotal: number | null;
  filesDone: number;
  filesTotal: number | null;
  storageTargetId: string | null;
  sourceId: string | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  error: string | null;
  result: unknown;
};

export const terminalStatuses = ['succeeded', 'partial', 'failed', 'cancelled'];

export function toPublicJobRun(r: JobRun): PublicJobRun {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    step: r.step,
    progress: r.progress,
    bytesDone: Number(r.bytesDone),
    bytesTotal: r.bytesTotal === null ? null : Number(r.bytesTotal),
    filesDone: r.filesDone,
    filesTotal: r.filesTotal,
    storageTargetId: r.storageTargetId,
    sourceId: r.sourceId,
    queuedAt: r.queuedAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    durationMs: r.durationMs,
    error: r.error,
    result: r.result,
  };
}

export async function getJobRun(db: Db, id: string): Promise<PublicJobRun | null> {
  const row = await db.jobRun.findUnique({ where: { id } });
  return row ? toPublicJobRun(row) : null;
}

export async function listRecentJobRuns(db: Db, limit = 50): Promise<PublicJobRun[]> {
  const rows = await db.jobRun.findMany({ orderBy: { queuedAt: 'desc' }, take: limit });
  return rows.map(toPublicJobRun);
}

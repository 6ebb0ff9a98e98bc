// Dashboard figures: one round trip per figure, all read from the catalog.
import type { Db } from '../db/client';

export type DashboardSummary = {
  sources: number;
  restorePoints: number;
  storageTargets: number;
  storageTargetsFailing: number;
  jobsRunning: number;
  jobsFailed24h: number;
};

export async function dashboardSummary(db: Db): Promise<DashboardSummary> {
  const since = new Date(Date.now() - 24 * 3600 * 1000);
  const [sources, restorePoints, storageTargets, storageTargetsFailing, jobsRunning, jobsFailed24h] = await Promise.all([
    db.source.count(),
    db.restorePoint.count({ where: { status: { not: 'forgotten' } } }),
    db.storageTarget.count(),
    db.storageTarget.count({ where: { lastCheckOk: false } }),
    db.jobRun.count({ where: { status: { in: ['queued', 'running'] } } }),
    db.jobRun.count({ where: { status: 'failed', queuedAt: { gte: since } } }),
  ]);
  return { sources, restorePoints, storageTargets, storageTargetsFailing, jobsRunning, jobsFailed24h };
}

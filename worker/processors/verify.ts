// Processor: verify one restore point: repository structure for its snapshot, an optional share of the
// packs downloaded and re-hashed, and a test restore into a temporary directory whose duration is the
// measured RTO for this restore point. The outcome is recorded on the restore point.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyJob } from '../../lib/jobs/verify';
import { readEnv } from '../../lib/config/env';
import { openTargetRepository } from '../../lib/catalog/repositories';
import { checkRepository } from '../../lib/repo/check';
import { expectedTotals, restoreTree } from '../../lib/sources/filesystem/restorer';
import { baseBackupProblem } from '../../lib/sources/postgres/physical';
import { PermanentJobError, type JobHandler } from '../processor';

export const verify: JobHandler<typeof verifyJob.schema> = async (data, { db, reporter, signal }) => {
  const point = await db.restorePoint.findUnique({ where: { id: data.restorePointId }, include: { storageTarget: true } });
  if (!point) throw new PermanentJobError(`restore point ${data.restorePointId} no longer exists`);
  const { LIFEBOAT_SECRET_KEY } = readEnv(['LIFEBOAT_SECRET_KEY']);
  await reporter.step('opening the repository', { fraction: 0.02 });
  const { repo, close } = await openTargetRepository(db, point.storageTarget, LIFEBOAT_SECRET_KEY, { create: false, signal });
  const lock = await repo.lock('check', { signal });
  try {
    const snapshot = await repo.loadSnapshot(point.snapshotId, signal);
    await reporter.step('checking structure', { fraction: 0.05 });
    const check = await checkRepository(repo, { snapshots: [{ id: point.snapshotId, snapshot }], readDataPercent: data.readDataPercent, signal });
    let testRestore: { seconds: number; files: number; bytes: number; errors: number; problem?: string } | undefined;
    if (data.testRestore) {
      await reporter.step('test restore', { fraction: 0.3 });
      const dir = await mkdtemp(join(tmpdir(), 'lifeboat-verify-'));
      const started = Date.now();
      try {
        const r = await restoreTree(repo, snapshot.tree, dir, {
          expected: expectedTotals(snapshot, undefined),
          signal,
          onProgress: (p) => void reporter.progress({ fraction: 0.3 + 0.7 * (p.bytesTotal ? p.bytesDone / p.bytesTotal : 0), bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, filesDone: p.filesDone, filesTotal: p.filesTotal }),
        });
        // A base backup is also read as PostgreSQL would get it: every file against its manifest.
        const problem = await baseBackupProblem(repo, snapshot, point.snapshotId, { signal });
        testRestore = { seconds: (Date.now() - started) / 1000, files: r.verifiedFiles, bytes: r.bytes, errors: r.errors.length + (problem ? 1 : 0), ...(problem ? { problem } : {}) };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    const ok = check.ok && (!testRestore || testRestore.errors === 0);
    await db.restorePoint.update({ where: { id: point.id }, data: { verifiedAt: new Date(), verifyOk: ok } });
    const result = { ok, errors: check.errors, notes: check.notes, packsRead: check.packsRead, bytesRead: check.bytesRead, testRestore };
    return ok ? { status: 'succeeded', result } : { status: 'failed', result, error: check.errors[0] ?? testRestore?.problem ?? 'test restore found errors' };
  } finally {
    await lock.release().catch(() => {});
    close();
  }
};

// Processor: restore a filesystem/config restore point into a directory and verify every restored file.
import { restoreJob } from '../../lib/jobs/restore';
import { readEnv } from '../../lib/config/env';
import { openTargetRepository } from '../../lib/catalog/repositories';
import { restoreTargetProblem } from '../../lib/catalog/restore-targets';
import { expectedTotals, restoreTree } from '../../lib/sources/filesystem/restorer';
import { PermanentJobError, type JobHandler } from '../processor';

export const restore: JobHandler<typeof restoreJob.schema> = async (data, { db, reporter, signal }) => {
  const point = await db.restorePoint.findUnique({ where: { id: data.restorePointId }, include: { storageTarget: true } });
  if (!point) throw new PermanentJobError(`restore point ${data.restorePointId} no longer exists`);
  const problem = restoreTargetProblem(data.targetPath);
  if (problem) throw new PermanentJobError(`restore target ${data.targetPath} ${problem}`);

  await reporter.step('opening the repository', { fraction: 0.01 });
  const { LIFEBOAT_SECRET_KEY } = readEnv(['LIFEBOAT_SECRET_KEY']);
  const { repo, close } = await openTargetRepository(db, point.storageTarget, LIFEBOAT_SECRET_KEY, { create: false, signal });
  const lock = await repo.lock('restore', { signal });
  try {
    const snapshot = await repo.loadSnapshot(point.snapshotId, signal);
    const from = data.from ?? (snapshot.paths.length === 1 ? snapshot.paths[0] : undefined);
    await reporter.step('restoring and verifying files');
    const started = Date.now();
    const result = await restoreTree(repo, snapshot.tree, data.targetPath, {
      from,
      expected: expectedTotals(snapshot, from),
      signal: AbortSignal.any([signal, lock.signal]),
      onProgress: (p) => void reporter.progress({ fraction: p.bytesTotal ? p.bytesDone / p.bytesTotal : undefined, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, filesDone: p.filesDone, filesTotal: p.filesTotal }),
    });
    const summary = { targetPath: data.targetPath, from: from ?? '/', seconds: (Date.now() - started) / 1000, ...result };
    return result.errors.length
      ? { status: 'failed', result: summary, error: `${result.errors.length} file(s) could not be restored: ${result.errors[0]!.path}: ${result.errors[0]!.message}` }
      : { status: 'succeeded', result: summary };
  } finally {
    await lock.release().catch(() => {});
    close();
  }
};

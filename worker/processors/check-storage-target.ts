// Processor: round-trip a probe object through a storage target and record latency and outcome both on
// the JobRun and on the target (lastCheck*), where the console's target list shows it. A missing bucket or
// directory is created first: adding a target and checking it is how a user prepares it.
import { checkStorageTargetJob } from '../../lib/jobs/check-storage-target';
import { readEnv } from '../../lib/config/env';
import { blobConfigFor } from '../../lib/storage-targets/catalog';
import { openBlobStore, checkBlobStore, type ProbeStep, type ProbeResult } from '../../lib/blob';
import type { JobHandler } from '../processor';

const stepFraction: Record<ProbeStep, number> = { put: 0.2, get: 0.4, verify: 0.55, list: 0.65, delete: 0.8, 'verify-delete': 0.9 };

export const checkStorageTarget: JobHandler<typeof checkStorageTargetJob.schema> = async (data, { db, reporter, signal }) => {
  const target = await db.storageTarget.findUnique({ where: { id: data.storageTargetId } });
  if (!target) return { status: 'failed', error: `Storage target ${data.storageTargetId} no longer exists` };

  const { LIFEBOAT_SECRET_KEY } = readEnv(['LIFEBOAT_SECRET_KEY']);
  await reporter.step('preparing bucket or directory', { fraction: 0.05 });
  const opened = openBlobStore(blobConfigFor(target, LIFEBOAT_SECRET_KEY));
  let check: ProbeResult;
  try {
    check = await opened
      .ensureExists(signal)
      .then(() => checkBlobStore(opened.store, { signal, onStep: (step) => void reporter.step(`probe: ${step}`, { fraction: stepFraction[step] }) }))
      .catch((err: unknown) => ({
        ok: false,
        latencyMs: { total: 0 },
        bytes: 0,
        key: '',
        error: err instanceof Error ? err.message : String(err),
      }));
  } finally {
    opened.close();
  }

  await db.storageTarget.update({
    where: { id: target.id },
    data: {
      lastCheckAt: new Date(),
      lastCheckOk: check.ok,
      lastCheckLatencyMs: Math.round(check.latencyMs.total),
      lastCheckError: check.ok ? null : (check.error ?? 'check failed'),
    },
  });
  const result = { ok: check.ok, latencyMs: check.latencyMs, bytes: check.bytes, location: opened.store.describe() };
  return check.ok ? { status: 'succeeded', result } : { status: 'failed', result, error: check.error ?? 'check failed' };
};

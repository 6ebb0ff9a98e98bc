// Append-only audit trail of who did what. Details must never contain secrets.
import type { Db } from './db/client';

export async function audit(
  db: Db,
  entry: { actorId: string | null; action: string; entityType: string; entityId?: string | null; details?: Record<string, unknown> },
): Promise<void> {
  await db.auditLog.create({
    data: {
      actorId: entry.actorId,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId ?? null,
      details: (entry.details ?? {}) as object,
    },
  });
}

// Reveals a target's repository password to an admin, so it can be stored offline for the CLI-only
// disaster-recovery path (bucket + password, nothing else). Every reveal is audited.
import { withPermission } from '@/lib/api/handler';
import { notFound } from '@/lib/api/errors';
import { audit } from '@/lib/audit';
import { readEnv } from '@/lib/config/env';
import { db } from '@/lib/db/client';
import { repositoryPassword } from '@/lib/catalog/repository-password';

export const POST = withPermission<{ id: string }>('config:manage', async (_req, { params, user }) => {
  const target = await db().storageTarget.findUnique({ where: { id: params.id } });
  if (!target) throw notFound('Storage target');
  const password = await repositoryPassword(db(), target, readEnv(['LIFEBOAT_SECRET_KEY']).LIFEBOAT_SECRET_KEY);
  await audit(db(), { actorId: user.id, action: 'storage_target.reveal_repository_password', entityType: 'StorageTarget', entityId: target.id });
  return Response.json({ password }, { headers: { 'cache-control': 'no-store' } });
});

import { withPermission } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { readEnv } from '@/lib/config/env';
import { db } from '@/lib/db/client';
import { createStorageTarget, listStorageTargets } from '@/lib/storage-targets/catalog';
import { storageTargetInput } from '@/lib/storage-targets/schema';
import { parseBody } from '@/lib/api/handler';

export const GET = withPermission('catalog:read', async () => Response.json({ storageTargets: await listStorageTargets(db()) }));

export const POST = withPermission('config:manage', async (req, { user }) => {
  const input = await parseBody(req, storageTargetInput);
  const target = await createStorageTarget(db(), input, readEnv(['LIFEBOAT_SECRET_KEY']).LIFEBOAT_SECRET_KEY);
  await audit(db(), { actorId: user.id, action: 'storage_target.create', entityType: 'StorageTarget', entityId: target.id, details: { name: target.name, kind: target.kind } });
  return Response.json({ storageTarget: target }, { status: 201 });
});

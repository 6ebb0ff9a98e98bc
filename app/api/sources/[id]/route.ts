import { parseBody, withPermission } from '@/lib/api/handler';
import { notFound } from '@/lib/api/errors';
import { audit } from '@/lib/audit';
import { readEnv } from '@/lib/config/env';
import { db } from '@/lib/db/client';
import { getSource, sourceInput, updateSource } from '@/lib/catalog/sources';

export const GET = withPermission<{ id: string }>('catalog:read', async (_req, { params }) => {
  const source = await getSource(db(), params.id);
  if (!source) throw notFound('Source');
  return Response.json({ source });
});

// Replaces the settings (the kind stays); the stored password is kept unless `password` or `clearPassword` is given.
export const PATCH = withPermission<{ id: string }>('config:manage', async (req, { params, user }) => {
  const input = await parseBody(req, sourceInput);
  const updated = await updateSource(db(), params.id, input, readEnv(['LIFEBOAT_SECRET_KEY']).LIFEBOAT_SECRET_KEY);
  if (!updated) throw notFound('Source');
  const passwordChange = input.password !== undefined ? 'replaced' : input.clearPassword ? 'cleared' : 'kept';
  await audit(db(), { actorId: user.id, action: 'source.update', entityType: 'Source', entityId: updated.id, details: { name: updated.name, kind: updated.kind, password: passwordChange } });
  return Response.json({ source: await getSource(db(), updated.id) });
});

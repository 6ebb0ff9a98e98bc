import { parseBody, withPermission } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { db } from '@/lib/db/client';
import { createSource, listSources, sourceInput } from '@/lib/catalog/sources';

export const GET = withPermission('catalog:read', async () => Response.json({ sources: await listSources(db()) }));

export const POST = withPermission('config:manage', async (req, { user }) => {
  const input = await parseBody(req, sourceInput);
  const source = await createSource(db(), input);
  await audit(db(), { actorId: user.id, action: 'source.create', entityType: 'Source', entityId: source.id, details: { name: source.name, kind: source.kind } });
  return Response.json({ source: { id: source.id, name: source.name } }, { status: 201 });
});

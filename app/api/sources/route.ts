import { parseBody, withPermission } from '@/lib/api/handler';
import { audit } from '@/lib/audit';
import { readEnv } from '@/lib/config/env';
import { db } from '@/lib/db/client';
import { createSource, listSources, sourceInput } from '@/lib/catalog/sources';

export const GET = withPermission('catalog:read', async () => Response.json({ sources: await listSources(db()) }));

// A database source's password is sealed before it is stored; the response (and the audit entry) never holds it.
export const POST = withPermission('config:manage', async (req, { user }) => {
  const input = await parseBody(req, sourceInput);
  const source = await createSource(db(), input, readEnv(['LIFEBOAT_SECRET_KEY']).LIFEBOAT_SECRET_KEY);
  await audit(db(), { actorId: user.id, action: 'source.create', entityType: 'Source', entityId: source.id, details: { name: source.name, kind: source.kind, hasPassword: source.secretsEnc !== null } });
  return Response.json({ source: { id: source.id, name: source.name, hasPassword: source.secretsEnc !== null } }, { status: 201 });
});

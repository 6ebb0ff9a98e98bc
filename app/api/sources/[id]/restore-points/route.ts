import { withPermission } from '@/lib/api/handler';
import { notFound } from '@/lib/api/errors';
import { db } from '@/lib/db/client';
import { listRestorePoints } from '@/lib/catalog/sources';

export const GET = withPermission<{ id: string }>('catalog:read', async (_req, { params }) => {
  const source = await db().source.findUnique({ where: { id: params.id }, select: { id: true } });
  if (!source) throw notFound('Source');
  return Response.json({ restorePoints: await listRestorePoints(db(), source.id) });
});

import { withPermission } from '@/lib/api/handler';
import { notFound } from '@/lib/api/errors';
import { readEnv } from '@/lib/config/env';
import { db } from '@/lib/db/client';
import { recoveryWindowForSource } from '@/lib/console/recovery-window';

// The continuous recovery window of a database source (PostgreSQL WAL archive, MySQL/MariaDB binlog archive):
// read from its repository, no secrets.
export const GET = withPermission<{ id: string }>('catalog:read', async (req, { params }) => {
  const window = await recoveryWindowForSource(db(), params.id, readEnv(['LIFEBOAT_SECRET_KEY']).LIFEBOAT_SECRET_KEY, Date.now(), req.signal);
  if (!window) throw notFound('Source');
  return Response.json({ recoveryWindow: window });
});

import { withPermission } from '@/lib/api/handler';
import { db } from '@/lib/db/client';
import { listRecentJobRuns } from '@/lib/console/jobs';

export const GET = withPermission('catalog:read', async () => Response.json({ jobRuns: await listRecentJobRuns(db()) }));

// Unauthenticated liveness for load balancers and the start script: says only whether the catalog and the
// queue answer, nothing about their contents.
import { db } from '@/lib/db/client';
import { producerReady } from '@/lib/jobs/connection';

export const dynamic = 'force-dynamic';

export async function GET() {
  const [catalog, queue] = await Promise.all([
    db().$queryRaw`select 1`.then(() => true, () => false),
    producerReady().then((c) => c.ping()).then(() => true, () => false),
  ]);
  return Response.json({ ok: catalog && queue, catalog, queue }, { status: catalog && queue ? 200 : 503 });
}

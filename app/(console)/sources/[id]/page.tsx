import Link from 'next/link';
import { notFound } from 'next/navigation';
import { requireUser } from '@/lib/auth/session';
import { can } from '@/lib/auth/rbac';
import { db } from '@/lib/db/client';
import { listRestorePoints } from '@/lib/catalog/sources';
import { restoreRoots } from '@/lib/catalog/restore-targets';
import { RestorePointTable } from '@/components/sources/restore-point-table';
import { RestorePointChart } from '@/components/charts/restore-point-chart';

export const dynamic = 'force-dynamic';

export default async function SourcePage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser('catalog:read');
  const { id } = await params;
  const source = await db().source.findUnique({ where: { id }, include: { storageTarget: { select: { name: true } } } });
  if (!source) notFound();
  const points = await listRestorePoints(db(), source.id);
  const paths = ((source.config as { paths?: string[] }).paths ?? []).join(', ');
  return (
    <>
      <p className="muted"><Link href="/sources">Sources</Link> /</p>
      <h1>{source.name}</h1>
      <p className="muted">
        {source.kind} · {source.environment} · {source.criticality} · {paths} · stored in {source.storageTarget?.name ?? 'nowhere'}
      </p>
      <h2>Restore points</h2>
      <RestorePointChart points={points} />
      <RestorePointTable
        sourceId={source.id}
        initial={points}
        canRun={can(user.role, 'jobs:run')}
        production={source.environment === 'production'}
        defaultTarget={`${restoreRoots()[0]}/${source.name}`}
      />
    </>
  );
}

import Link from 'next/link';
import { notFound } from 'next/navigation';
import { requireUser } from '@/lib/auth/session';
import { can } from '@/lib/auth/rbac';
import { db } from '@/lib/db/client';
import { getSource, listRestorePoints } from '@/lib/catalog/sources';
import { restoreRoots } from '@/lib/catalog/restore-targets';
import { databaseConfigFor, describeDatabaseConfig, isDatabaseKind } from '@/lib/catalog/database-config';
import { stagingServersFor } from '@/lib/catalog/database-restore';
import { RestorePointTable, type DatabaseProps } from '@/components/sources/restore-point-table';
import { RestorePointChart } from '@/components/charts/restore-point-chart';
import { RecoveryWindowPanel } from '@/components/sources/recovery-window-panel';
import { EditSourceForm } from '@/components/sources/add-source-form';

export const dynamic = 'force-dynamic';

export default async function SourcePage({ params }: { params: Promise<{ id: string }> }) {
  const user = await requireUser('catalog:read');
  const { id } = await params;
  const source = await getSource(db(), id);
  if (!source) notFound();
  const points = await listRestorePoints(db(), source.id);
  let where = ((source.config as { paths?: string[] }).paths ?? []).join(', ');
  let database: DatabaseProps | undefined;
  if (isDatabaseKind(source.kind)) {
    const config = databaseConfigFor(source.kind).safeParse(source.config);
    where = config.success ? `${describeDatabaseConfig(source.kind, config.data)} · password ${source.hasPassword ? 'stored (encrypted)' : 'none'}` : 'connection settings incomplete';
    const backupKind = config.success && 'backupKind' in config.data ? config.data.backupKind : 'logical';
    database = { kind: source.kind, backupKind, stagingServers: await stagingServersFor(db(), source.id), sourceName: source.name };
  }
  const admin = can(user.role, 'config:manage');
  const targets = admin ? await db().storageTarget.findMany({ select: { id: true, name: true }, orderBy: [{ isDefault: 'desc' }, { name: 'asc' }] }) : [];
  return (
    <>
      <p className="muted"><Link href="/sources">Sources</Link> /</p>
      <h1>{source.name}</h1>
      <p className="muted" data-testid="source-summary">
        {source.kind} · {source.environment} · {source.criticality} · {where} · stored in {source.storageTargetName ?? 'nowhere'}
      </p>
      {(source.kind === 'postgres' || source.kind === 'mysql') && (
        <RecoveryWindowPanel
          engine={source.kind}
          sourceId={source.id}
          rpoMinutes={source.rpoMinutes}
          points={points}
          canRun={can(user.role, 'jobs:run')}
          servers={database?.stagingServers ?? []}
          database={ownDatabase(source.kind, (source.config as { database?: string }).database) ?? source.name}
        />
      )}
      <h2>Restore points</h2>
      <RestorePointChart points={points} />
      <RestorePointTable
        sourceId={source.id}
        initial={points}
        canRun={can(user.role, 'jobs:run')}
        production={source.environment === 'production'}
        defaultTarget={`${restoreRoots()[0]}/${source.name}`}
        database={database}
      />
      {admin && database && (
        <details className="panel">
          <summary>Connection settings</summary>
          <EditSourceForm targets={targets} source={source} />
        </details>
      )}
    </>
  );
}

/** The database a point-in-time restore recovers by default: the source's own (none for a MySQL source of "all"). */
function ownDatabase(kind: string, database: string | undefined): string | undefined {
  return kind === 'mysql' && database === 'all' ? '' : database;
}

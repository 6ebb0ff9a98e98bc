import { requireUser } from '@/lib/auth/session';
import { can } from '@/lib/auth/rbac';
import { db } from '@/lib/db/client';
import { listSources } from '@/lib/catalog/sources';
import { SourceList } from '@/components/sources/source-list';
import { AddSourceForm } from '@/components/sources/add-source-form';

export const dynamic = 'force-dynamic';

export default async function SourcesPage() {
  const user = await requireUser('catalog:read');
  const [sources, targets] = await Promise.all([listSources(db()), db().storageTarget.findMany({ select: { id: true, name: true }, orderBy: [{ isDefault: 'desc' }, { name: 'asc' }] })]);
  return (
    <>
      <h1>Sources</h1>
      <SourceList initial={sources} canRun={can(user.role, 'jobs:run')} />
      {can(user.role, 'config:manage') && (
        <>
          <h2>Add a source</h2>
          <div className="panel">
            <AddSourceForm targets={targets} />
          </div>
        </>
      )}
    </>
  );
}

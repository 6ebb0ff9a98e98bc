import { requireUser } from '@/lib/auth/session';
import { can } from '@/lib/auth/rbac';
import { db } from '@/lib/db/client';
import { listStorageTargets } from '@/lib/storage-targets/catalog';
import { StorageTargetList } from '@/components/storage/storage-target-list';
import { AddStorageTargetForm } from '@/components/storage/add-storage-target-form';

export const dynamic = 'force-dynamic';

export default async function StoragePage() {
  const user = await requireUser('catalog:read');
  const targets = await listStorageTargets(db());
  return (
    <>
      <h1>Storage targets</h1>
      <StorageTargetList initial={targets} canCheck={can(user.role, 'jobs:run')} />
      {can(user.role, 'config:manage') && (
        <>
          <h2>Add a storage target</h2>
          <div className="panel">
            <AddStorageTargetForm />
          </div>
        </>
      )}
    </>
  );
}

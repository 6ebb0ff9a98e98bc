import { requireUser } from '@/lib/auth/session';
import { db } from '@/lib/db/client';
import { listRecentJobRuns } from '@/lib/console/jobs';
import { JobRunTable } from '@/components/jobs/job-run-table';

export const dynamic = 'force-dynamic';

export default async function JobsPage() {
  await requireUser('catalog:read');
  const runs = await listRecentJobRuns(db());
  return (
    <>
      <h1>Jobs</h1>
      <JobRunTable initial={runs} />
    </>
  );
}

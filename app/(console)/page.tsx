import Link from 'next/link';
import { requireUser } from '@/lib/auth/session';
import { db } from '@/lib/db/client';
import { dashboardSummary } from '@/lib/console/dashboard';
import { listSources } from '@/lib/catalog/sources';
import { RpoChart } from '@/components/charts/rpo-chart';

export const dynamic = 'force-dynamic';

export default async function Dashboard() {
  await requireUser('catalog:read');
  const [s, sources] = await Promise.all([dashboardSummary(db()), listSources(db())]);
  return (
    <>
      <h1>Dashboard</h1>
      <div className="cards" data-testid="summary">
        <Figure label="Sources" value={s.sources} />
        <Figure label="Restore points" value={s.restorePoints} />
        <Figure label="Storage targets" value={s.storageTargets} note={s.storageTargetsFailing ? `${s.storageTargetsFailing} failing` : undefined} />
        <Figure label="Jobs running" value={s.jobsRunning} />
        <Figure label="Failed jobs (24 h)" value={s.jobsFailed24h} />
      </div>
      {sources.length > 0 && (
        <>
          <h2>Recovery point objective</h2>
          <RpoChart sources={sources} />
        </>
      )}
      {s.sources === 0 && (
        <div className="panel empty" data-testid="empty-dashboard">
          No sources are backed up yet. Check a <Link href="/storage">storage target</Link>, then add a <Link href="/sources">source</Link> and back it up.
        </div>
      )}
    </>
  );
}

function Figure({ label, value, note }: { label: string; value: number; note?: string }) {
  return (
    <div className="card">
      <div className="figure">{value}</div>
      <div className="label">{label}</div>
      {note && <div className="error" style={{ fontSize: 12 }}>{note}</div>}
    </div>
  );
}

'use client';
// "Restore to staging database" for one logical restore point: a new database name, the staging server
// (this source's own server when it is staging, or a staging source of the same kind) and, for a dump of
// several databases, which one. Enqueues, shows the job's progress bar, then the validation outcome.
import { useState, type FormEvent } from 'react';
import type { PublicRestorePoint } from '@/lib/catalog/sources';
import type { StagingServer } from '@/lib/catalog/database-restore';
import { JobProgress } from '../jobs/job-progress';
import { useStartJob } from '../jobs/use-start-job';

export type DatabaseRestoreResult = {
  ok: boolean;
  server: string;
  targetDatabase: string;
  sourceDatabase: string;
  seconds: number;
  validation: { ok: boolean; tablesChecked: number; mismatchCount: number; mismatches: { schema: string; table: string; problem: string }[] } | null;
  smoke: { query: string; ok: boolean; rows: number; error?: string }[];
};

export function DatabaseRestoreForm({ point, servers, sourceName, onDone }: { point: PublicRestorePoint; servers: StagingServer[]; sourceName: string; onDone: () => void }) {
  const job = useStartJob(onDone);
  const [open, setOpen] = useState(false);
  const [target, setTarget] = useState(`${(point.databases[0] ?? sourceName).replace(/[^A-Za-z0-9_]/g, '_')}_restored`);
  const [server, setServer] = useState(servers[0]?.id ?? '');
  const [database, setDatabase] = useState(point.databases[0] ?? '');

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await job.start(`/api/restore-points/${point.id}/restore-database`, { targetDatabase: target, serverSourceId: server, database })) setOpen(false);
  }

  const result = job.run && (job.run.status === 'succeeded' || job.run.status === 'failed') ? (job.run.result as DatabaseRestoreResult | null) : null;
  return (
    <div data-testid="restore-database">
      {job.running ? (
        <JobProgress run={job.run} />
      ) : open ? (
        <form className="stack" onSubmit={submit}>
          <input aria-label="New database name" value={target} onChange={(e) => setTarget(e.target.value)} />
          <select aria-label="Staging server" value={server} onChange={(e) => setServer(e.target.value)}>
            {servers.map((s) => <option key={s.id} value={s.id}>{s.self ? `this source's server (${s.describe})` : `${s.name} (${s.describe})`}</option>)}
          </select>
          {point.databases.length > 1 && (
            <select aria-label="Database to restore" value={database} onChange={(e) => setDatabase(e.target.value)}>
              {point.databases.map((d) => <option key={d} value={d}>{d}</option>)}
            </select>
          )}
          <div className="inline-form">
            <button type="submit">Restore</button>
            <button type="button" className="secondary" onClick={() => setOpen(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <button className="secondary" disabled={servers.length === 0} title={servers.length === 0 ? 'No staging server: mark this source staging, or add a staging source of the same kind' : undefined} onClick={() => setOpen(true)}>
          Restore to staging database…
        </button>
      )}
      {result && <RestoreOutcome result={result} />}
      {job.run?.status === 'failed' && !result && <div className="error">{job.run.error}</div>}
      {job.error && <div className="error">{job.error}</div>}
    </div>
  );
}

/** Where the database went, how long it took, and its validation and smoke results. */
export function RestoreOutcome({ result: r, against = 'the backup’s' }: { result: DatabaseRestoreResult; against?: string }) {
  const v = r.validation;
  return (
    <div data-testid="restore-db-result" className={r.ok ? 'muted' : 'error'}>
      <div>
        restored {r.sourceDatabase} into <strong>{r.targetDatabase}</strong> on {r.server} in {r.seconds.toFixed(1)} s
      </div>
      <div data-testid="restore-db-validation">
        {v === null
          ? 'validation: skipped (no manifest)'
          : v.ok
            ? `validation ok: ${v.tablesChecked} tables match ${against} row counts and checksums`
            : `validation FAILED: ${v.mismatchCount} of ${v.tablesChecked} tables differ (${v.mismatches.slice(0, 3).map((m) => `${m.schema}.${m.table}: ${m.problem}`).join(', ')})`}
      </div>
      {r.smoke.map((s, i) => (
        <div key={i}>{s.ok ? `smoke ok: ${s.query} (${s.rows} rows)` : `smoke FAILED: ${s.query}: ${s.error ?? 'no rows'}`}</div>
      ))}
    </div>
  );
}

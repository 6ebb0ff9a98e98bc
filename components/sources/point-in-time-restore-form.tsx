'use client';
// "Restore to a point in time" for a WAL-archived PostgreSQL source or a MySQL/MariaDB source with archived binary
// logs: a moment inside the recovery window (in the browser's time zone, to the second) or the latest archived
// point, which database, the new database's name and the staging server. PostgreSQL: the worker recovers the
// cluster privately and copies that database over; MySQL: it restores the newest dump before the moment and
// replays the binlogs. The form shows the job's progress bar, then where the restore stopped and the validation.
import { useState, type FormEvent } from 'react';
import type { StagingServer } from '@/lib/catalog/database-restore';
import { JobProgress } from '../jobs/job-progress';
import { useStartJob } from '../jobs/use-start-job';
import { RestoreOutcome, type DatabaseRestoreResult } from './database-restore-form';

export type PointInTimeResult = DatabaseRestoreResult & {
  pointInTime: string;
  stoppedAt: string | null;
  /** PostgreSQL */
  baseBackup?: string;
  lastTransactionTime?: string | null;
  walFilesRestored?: number;
  /** MySQL/MariaDB */
  dump?: string;
  binlogFilesReplayed?: number;
};

/** "2024-01-15T10:30:05" in the browser's zone: what <input type="datetime-local" step="1"> takes and gives. */
export function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

type Props = { engine: 'postgres' | 'mysql'; sourceId: string; systemId: string; from: string; to: string | null; servers: StagingServer[]; database: string; chosen?: string | null };

export function PointInTimeRestoreForm({ engine, sourceId, systemId, from, to, servers, database: defaultDatabase, chosen }: Props) {
  const job = useStartJob();
  const [open, setOpen] = useState(false);
  const [latest, setLatest] = useState(false);
  const [when, setWhen] = useState(() => toLocalInput(to ?? from));
  const [database, setDatabase] = useState(defaultDatabase);
  const [target, setTarget] = useState(`${defaultDatabase.replace(/[^A-Za-z0-9_]/g, '_') || 'restored'}_pitr`);
  const [server, setServer] = useState(servers[0]?.id ?? '');
  const [picked, setPicked] = useState<string | null | undefined>(chosen);
  // A moment picked on the timeline chart opens the form at that time.
  if (chosen !== picked) {
    setPicked(chosen);
    if (chosen) {
      setWhen(toLocalInput(chosen));
      setLatest(false);
      setOpen(true);
    }
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  async function submit(e: FormEvent) {
    e.preventDefault();
    const body = { ...(latest ? { latest: true } : { targetTime: new Date(when).toISOString() }), ...(database ? { database } : {}), targetDatabase: target, serverSourceId: server, ...(engine === 'postgres' ? { systemId } : {}) };
    if (await job.start(`/api/sources/${sourceId}/recover-database`, body)) setOpen(false);
  }

  const result = job.run && (job.run.status === 'succeeded' || job.run.status === 'failed') ? (job.run.result as PointInTimeResult | null) : null;
  return (
    <div data-testid="pitr-restore">
      {job.running ? (
        <JobProgress run={job.run} />
      ) : open ? (
        <form className="stack" onSubmit={submit}>
          <label>
            <input type="radio" name={`pitr-when-${systemId}`} checked={!latest} onChange={() => setLatest(false)} /> to a point in time ({zone})
          </label>
          <input aria-label="Recover to" type="datetime-local" step="1" value={when} min={toLocalInput(from)} max={to ? toLocalInput(to) : undefined} disabled={latest} onChange={(e) => setWhen(e.target.value)} />
          <label>
            <input type="radio" name={`pitr-when-${systemId}`} checked={latest} onChange={() => setLatest(true)} /> to the latest archived point
          </label>
          <input aria-label="Database to recover" value={database} onChange={(e) => setDatabase(e.target.value)} />
          <input aria-label="New database name" value={target} onChange={(e) => setTarget(e.target.value)} />
          <select aria-label="Staging server" value={server} onChange={(e) => setServer(e.target.value)}>
            {servers.map((s) => <option key={s.id} value={s.id}>{s.self ? `this source's server (${s.describe})` : `${s.name} (${s.describe})`}</option>)}
          </select>
          <div className="inline-form">
            <button type="submit">Recover</button>
            <button type="button" className="secondary" onClick={() => setOpen(false)}>Cancel</button>
          </div>
        </form>
      ) : (
        <button className="secondary" disabled={servers.length === 0} title={servers.length === 0 ? `No staging server: mark this source staging, or add a staging ${engine === 'mysql' ? 'MySQL/MariaDB' : 'PostgreSQL'} source` : undefined} onClick={() => setOpen(true)}>
          Restore to a point in time…
        </button>
      )}
      {result && (
        <div data-testid="pitr-result">
          <div className="muted">
            {result.pointInTime === 'latest' ? 'to the latest archived point' : `to ${new Date(result.pointInTime).toLocaleString()}`}
            {result.dump !== undefined
              ? ` · dump ${result.dump.slice(0, 8)} restored, then ${result.binlogFilesReplayed} archived binlog file(s) replayed up to ${result.stoppedAt}`
              : ` from base backup ${result.baseBackup?.slice(0, 8)} · ${result.walFilesRestored} WAL files replayed${result.stoppedAt ? ` · stopped ${result.stoppedAt}` : ''}`}
          </div>
          <RestoreOutcome result={result} against={result.dump !== undefined ? 'the dump’s' : 'the recovered cluster’s'} />
        </div>
      )}
      {job.run?.status === 'failed' && !result && <div className="error">{job.run.error}</div>}
      {job.error && <div className="error" data-testid="pitr-error">{job.error}</div>}
    </div>
  );
}

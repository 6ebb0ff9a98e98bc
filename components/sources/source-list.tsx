'use client';
import Link from 'next/link';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import type { PublicSource } from '@/lib/catalog/sources';
import { api } from '../api-client';
import { JobProgress } from '../jobs/job-progress';
import { useStartJob } from '../jobs/use-start-job';

const rpoClass = { green: 'ok', amber: 'warn', red: 'bad' } as const;

export function SourceList({ initial, canRun }: { initial: PublicSource[]; canRun: boolean }) {
  const { data: sources = initial } = useQuery({
    queryKey: ['sources'],
    queryFn: () => api<{ sources: PublicSource[] }>('/api/sources').then((r) => r.sources),
    initialData: initial,
    refetchInterval: 30_000,
  });
  if (sources.length === 0) return <div className="panel empty">No sources yet.</div>;
  return (
    <div className="panel">
      <table data-testid="sources">
        <thead>
          <tr><th>Source</th><th>Kind</th><th>Environment</th><th>RPO</th><th>Last restore point</th><th>Restore points</th>{canRun && <th />}</tr>
        </thead>
        <tbody>{sources.map((s) => <SourceRow key={s.id} source={s} canRun={canRun} />)}</tbody>
      </table>
    </div>
  );
}

function SourceRow({ source: s, canRun }: { source: PublicSource; canRun: boolean }) {
  const queryClient = useQueryClient();
  const job = useStartJob(() => void queryClient.invalidateQueries({ queryKey: ['sources'] }));
  return (
    <tr data-testid={`source-${s.name}`}>
      <td><Link href={`/sources/${s.id}`}><strong>{s.name}</strong></Link>{s.description && <div className="muted">{s.description}</div>}</td>
      <td>{s.kind}</td>
      <td>{s.environment}</td>
      <td>
        <span className={`badge ${rpoClass[s.rpoStatus]}`} data-testid="rpo">{s.rpoStatus}</span>{' '}
        <span className="muted">{s.achievedRpoMinutes === null ? 'never backed up' : `${formatMinutes(s.achievedRpoMinutes)} ago${s.rpoFrom === 'WAL' ? (s.kind === 'mysql' ? ' (archived binlogs)' : ' (archived WAL)') : ''}`} · target {formatMinutes(s.rpoMinutes)}</span>
      </td>
      <td className="muted">{s.lastRestorePointAt ? new Date(s.lastRestorePointAt).toLocaleString() : '–'}</td>
      <td data-testid="restore-point-count">{s.restorePoints}</td>
      {canRun && (
        <td style={{ minWidth: 200 }}>
          {job.running ? (
            <JobProgress run={job.run} />
          ) : (
            <button className="secondary" onClick={() => void job.start(`/api/sources/${s.id}/backup`, { mode: 'incremental' })}>Back up now</button>
          )}
          {job.run?.status === 'failed' && <div className="error">{job.run.error}</div>}
          {job.error && <div className="error">{job.error}</div>}
        </td>
      )}
    </tr>
  );
}

export function formatMinutes(m: number): string {
  if (m < 60) return `${m} min`;
  if (m < 48 * 60) return `${Math.round(m / 6) / 10} h`;
  return `${Math.round(m / 144) / 10} d`;
}

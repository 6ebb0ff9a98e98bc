'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { PublicStorageTarget } from '@/lib/storage-targets/catalog';
import { api, ApiFailure } from '../api-client';
import { ProgressBar } from '../jobs/progress-bar';
import { isTerminal, useJobRun } from '../jobs/use-job-run';

export function StorageTargetList({ initial, canCheck }: { initial: PublicStorageTarget[]; canCheck: boolean }) {
  const { data: targets = initial } = useQuery({
    queryKey: ['storage-targets'],
    queryFn: () => api<{ storageTargets: PublicStorageTarget[] }>('/api/storage-targets').then((r) => r.storageTargets),
    initialData: initial,
  });
  if (targets.length === 0) return <div className="panel empty">No storage targets yet.</div>;
  return (
    <div className="panel">
      <table data-testid="storage-targets">
        <thead>
          <tr><th>Name</th><th>Kind</th><th>Role</th><th>Location</th><th>Last check</th>{canCheck && <th />}</tr>
        </thead>
        <tbody>
          {targets.map((t) => <TargetRow key={t.id} target={t} canCheck={canCheck} />)}
        </tbody>
      </table>
    </div>
  );
}

function TargetRow({ target: t, canCheck }: { target: PublicStorageTarget; canCheck: boolean }) {
  const queryClient = useQueryClient();
  const [jobRunId, setJobRunId] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const { data: run } = useJobRun(jobRunId);
  const running = !!jobRunId && !isTerminal(run?.status);

  useEffect(() => {
    if (run && isTerminal(run.status)) void queryClient.invalidateQueries({ queryKey: ['storage-targets'] });
  }, [run, queryClient]);

  async function check() {
    setError(null);
    try {
      const { jobRunId } = await api<{ jobRunId: string }>(`/api/storage-targets/${t.id}/check`, { method: 'POST' });
      setJobRunId(jobRunId);
    } catch (e) {
      setError(e instanceof ApiFailure ? e.message : 'Could not start the check');
    }
  }

  return (
    <tr data-testid={`target-${t.name}`}>
      <td><strong>{t.name}</strong>{t.isDefault && <span className="muted"> (default)</span>}</td>
      <td>{t.kind}</td>
      <td>{t.role}</td>
      <td className="muted" style={{ wordBreak: 'break-all' }}>{t.location}</td>
      <td data-testid="last-check">
        {running ? (
          <div>
            <ProgressBar fraction={run?.progress ?? 0} />
            <span className="muted">{run?.step ?? 'queued'}</span>
          </div>
        ) : t.lastCheckAt ? (
          <>
            <span className={`badge ${t.lastCheckOk ? 'ok' : 'bad'}`}>{t.lastCheckOk ? 'OK' : 'Failed'}</span>{' '}
            <span className="muted">{t.lastCheckOk ? `${t.lastCheckLatencyMs} ms` : t.lastCheckError} · {new Date(t.lastCheckAt).toLocaleString()}</span>
          </>
        ) : (
          <span className="muted">never checked</span>
        )}
        {error && <div className="error">{error}</div>}
      </td>
      {canCheck && (
        <td>
          <button className="secondary" onClick={check} disabled={running}>{running ? 'Checking…' : 'Check'}</button>
        </td>
      )}
    </tr>
  );
}

'use client';
import { useQuery } from '@tanstack/react-query';
import type { PublicJobRun } from '@/lib/console/jobs';
import { api } from '../api-client';
import { ProgressBar } from './progress-bar';

const badge: Record<string, string> = { succeeded: 'ok', failed: 'bad', running: 'run', queued: 'run', partial: 'bad' };

export function JobRunTable({ initial }: { initial: PublicJobRun[] }) {
  const { data: runs = initial } = useQuery({
    queryKey: ['job-runs'],
    queryFn: () => api<{ jobRuns: PublicJobRun[] }>('/api/jobs').then((r) => r.jobRuns),
    initialData: initial,
    refetchInterval: (q) => ((q.state.data ?? []).some((r) => r.status === 'running' || r.status === 'queued') ? 1000 : 10_000),
  });
  if (runs.length === 0) return <div className="panel empty">No jobs have run yet.</div>;
  return (
    <div className="panel">
      <table data-testid="job-runs">
        <thead>
          <tr><th>Kind</th><th>Status</th><th>Progress</th><th>Queued</th><th>Duration</th><th>Error</th></tr>
        </thead>
        <tbody>
          {runs.map((r) => (
            <tr key={r.id}>
              <td>{r.kind.replaceAll('_', ' ')}</td>
              <td><span className={`badge ${badge[r.status] ?? ''}`}>{r.status}</span></td>
              <td>
                <ProgressBar fraction={r.progress} />
                <span className="muted">{r.step}</span>
              </td>
              <td className="muted">{new Date(r.queuedAt).toLocaleString()}</td>
              <td className="muted">{r.durationMs === null ? '–' : `${(r.durationMs / 1000).toFixed(1)} s`}</td>
              <td className="error">{r.error}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

'use client';
// The continuous recovery window of a WAL-archived PostgreSQL source, next to its discrete restore points:
// from / to, the newest archived WAL file and the achieved RPO (now minus its archive time). Read from the
// repository by GET /api/sources/:id/recovery-window, refreshed every 30 s.
import { useQuery } from '@tanstack/react-query';
import type { PublicRecoveryWindow } from '@/lib/console/recovery-window';
import { api } from '../api-client';
import { formatMinutes } from './source-list';

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '–');

export function RecoveryWindowPanel({ sourceId, rpoMinutes }: { sourceId: string; rpoMinutes: number }) {
  const { data, error, isLoading } = useQuery({
    queryKey: ['recovery-window', sourceId],
    queryFn: () => api<{ recoveryWindow: PublicRecoveryWindow }>(`/api/sources/${sourceId}/recovery-window`).then((r) => r.recoveryWindow),
    refetchInterval: 30_000,
  });
  return (
    <div className="panel" data-testid="recovery-window">
      <h3>Point-in-time recovery window</h3>
      {isLoading ? (
        <span className="muted">reading the WAL archive…</span>
      ) : error ? (
        <span className="error">{(error as Error).message}</span>
      ) : !data?.available ? (
        <span className="muted" data-testid="recovery-window-unavailable">{data?.reason ?? 'not available'}</span>
      ) : (
        data.systems.map((s) => {
          const rpo = s.rpoSeconds === null ? null : Math.round(s.rpoSeconds / 60);
          return (
            <div key={s.systemId} data-testid={`recovery-window-${s.systemId}`}>
              <div>
                recoverable to any time from <strong data-testid="window-from">{when(s.from)}</strong> to about <strong data-testid="window-to">{when(s.to)}</strong>
              </div>
              <div className="muted">
                newest archived WAL <span data-testid="newest-wal">{s.newestWal?.name ?? 'none'}</span> at {when(s.newestWal?.time ?? null)} · achieved RPO{' '}
                <span className={`badge ${rpo === null ? 'bad' : rpo <= rpoMinutes ? 'ok' : 'warn'}`} data-testid="wal-rpo">{rpo === null ? 'unknown' : formatMinutes(rpo)}</span> · {s.walFiles} WAL files ·{' '}
                {s.baseBackups.length} base backup{s.baseBackups.length === 1 ? '' : 's'} · system {s.systemId}
              </div>
              {s.gapAfter && <div className="error">The archive has a gap after {s.gapAfter}: WAL after it cannot be replayed from older base backups.</div>}
            </div>
          );
        })
      )}
      <p className="muted">Point-in-time recovery runs from the CLI: <code>lifeboat database recover --to-time …</code> (docs/postgres-pitr.md).</p>
    </div>
  );
}

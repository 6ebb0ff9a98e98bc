'use client';
// The continuous recovery window of a WAL-archived PostgreSQL source, or of a MySQL/MariaDB source whose binary
// logs are archived, next to its discrete restore points: from / to, the newest archived WAL or binlog file and
// the achieved RPO (now minus its archive time). Read from the repository by GET
// /api/sources/:id/recovery-window, refreshed every 30 s. A timeline shows the window with the base backups and
// dumps; "Restore to a point in time" recovers one database into a staging server.
import { useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import type { StagingServer } from '@/lib/catalog/database-restore';
import type { PublicRestorePoint } from '@/lib/catalog/sources';
import type { PublicRecoveryWindow } from '@/lib/console/recovery-window';
import { api } from '../api-client';
import { RecoveryTimeline } from '../charts/recovery-timeline';
import { PointInTimeRestoreForm } from './point-in-time-restore-form';
import { formatMinutes } from './source-list';

const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '–');

type Props = { engine: 'postgres' | 'mysql'; sourceId: string; rpoMinutes: number; points: PublicRestorePoint[]; canRun: boolean; servers: StagingServer[]; database: string };

export function RecoveryWindowPanel({ engine, sourceId, rpoMinutes, points, canRun, servers, database }: Props) {
  const mysql = engine === 'mysql';
  const log = mysql ? 'binlog' : 'WAL';
  const [picked, setPicked] = useState<string | null>(null);
  const { data, error, isLoading } = useQuery({
    queryKey: ['recovery-window', sourceId],
    queryFn: () => api<{ recoveryWindow: PublicRecoveryWindow }>(`/api/sources/${sourceId}/recovery-window`).then((r) => r.recoveryWindow),
    refetchInterval: 30_000,
  });
  return (
    <div className="panel" data-testid="recovery-window">
      <h3>Point-in-time recovery window</h3>
      {isLoading ? (
        <span className="muted">reading the {log} archive…</span>
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
                newest archived {log} <span data-testid="newest-wal">{s.newestWal?.name ?? 'none'}</span> at {when(s.newestWal?.time ?? null)} · achieved RPO{' '}
                <span className={`badge ${rpo === null ? 'bad' : rpo <= rpoMinutes ? 'ok' : 'warn'}`} data-testid="wal-rpo">{rpo === null ? 'unknown' : formatMinutes(rpo)}</span> · {s.walFiles} {log} files ·{' '}
                {mysql ? `${s.baseBackups.length} dump${s.baseBackups.length === 1 ? '' : 's'} with a binlog position` : `${s.baseBackups.length} base backup${s.baseBackups.length === 1 ? '' : 's'} · system ${s.systemId}`}
              </div>
              {s.gapAfter && <div className="error">The archive has a gap after {s.gapAfter}: {mysql ? 'binlogs after it cannot be replayed from older dumps' : 'WAL after it cannot be replayed from older base backups'}.</div>}
              {s.from && s.to && (
                <RecoveryTimeline
                  from={s.from}
                  to={s.to}
                  points={[
                    ...(mysql ? [] : s.baseBackups.map((b) => ({ time: b.consistentFrom, label: `base backup ${b.snapshotId.slice(0, 8)}`, kind: 'base' as const }))),
                    ...points.filter((p) => p.content === (mysql ? 'mysql-logical' : 'postgres-logical')).map((p) => ({ time: p.completedAt, label: `dump ${p.snapshotId.slice(0, 8)} (${p.databases.join(', ')})`, kind: 'dump' as const })),
                  ]}
                  onPick={canRun ? setPicked : undefined}
                />
              )}
              {s.from && canRun && <PointInTimeRestoreForm engine={engine} sourceId={sourceId} systemId={s.systemId} from={s.from} to={s.to} servers={servers} database={database} chosen={picked} />}
            </div>
          );
        })
      )}
      {mysql ? (
        <p className="muted">
          From the console, one database is restored from the newest dump before the moment, then the archived binary logs are replayed up to it, into a staging server. The archive grows with{' '}
          <code>lifeboat database binlog-push</code> run from cron (docs/mysql.md §7).
        </p>
      ) : (
        <p className="muted">
          From the console, one database is recovered into a staging server. A whole cluster into a data directory: <code>lifeboat database recover --to-time …</code> (docs/postgres-pitr.md).
        </p>
      )}
    </div>
  );
}

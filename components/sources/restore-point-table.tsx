'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { PublicRestorePoint } from '@/lib/catalog/sources';
import { api } from '../api-client';
import { bytes, JobProgress } from '../jobs/job-progress';
import { useStartJob } from '../jobs/use-start-job';
import type { StagingServer } from '@/lib/catalog/database-restore';
import { DatabaseRestoreForm } from './database-restore-form';

/** Database sources: their kind, the default backup kind (postgres) and where restores may go. */
export type DatabaseProps = { kind: 'postgres' | 'mysql'; backupKind: 'logical' | 'physical'; stagingServers: StagingServer[]; sourceName: string };
type Props = { sourceId: string; initial: PublicRestorePoint[]; canRun: boolean; production: boolean; defaultTarget: string; database?: DatabaseProps };

const contentLabel: Record<PublicRestorePoint['content'], string> = { files: '', 'postgres-logical': 'pg_dump', 'postgres-physical': 'base backup', 'mysql-logical': 'mariadb-dump' };

export function RestorePointTable({ sourceId, initial, canRun, production, defaultTarget, database }: Props) {
  const key = ['restore-points', sourceId];
  const queryClient = useQueryClient();
  const { data: points = initial } = useQuery({
    queryKey: key,
    queryFn: () => api<{ restorePoints: PublicRestorePoint[] }>(`/api/sources/${sourceId}/restore-points`).then((r) => r.restorePoints),
    initialData: initial,
  });
  const backup = useStartJob(() => void queryClient.invalidateQueries({ queryKey: key }));
  return (
    <>
      {canRun && (
        <div className="panel inline-form">
          {backup.running ? (
            <JobProgress run={backup.run} />
          ) : (
            <>
              <button onClick={() => void backup.start(`/api/sources/${sourceId}/backup`, { mode: 'incremental' })}>Back up now</button>
              {!database && <button className="secondary" onClick={() => void backup.start(`/api/sources/${sourceId}/backup`, { mode: 'full' })}>Full backup</button>}
              {database?.kind === 'postgres' && (
                <button className="secondary" onClick={() => void backup.start(`/api/sources/${sourceId}/backup`, { backupKind: database.backupKind === 'logical' ? 'physical' : 'logical' })}>
                  {database.backupKind === 'logical' ? 'Base backup' : 'Logical dump'}
                </button>
              )}
            </>
          )}
          {backup.run?.status === 'failed' && <span className="error">{backup.run.error}</span>}
          {backup.error && <span className="error">{backup.error}</span>}
        </div>
      )}
      {points.length === 0 ? (
        <div className="panel empty">No restore points yet.</div>
      ) : (
        <div className="panel">
          <table data-testid="restore-points">
            <thead>
              <tr><th>Time</th><th>Mode</th><th>Status</th><th>Files</th><th>Size</th><th>Added</th><th>Verified</th>{canRun && <th>Actions</th>}</tr>
            </thead>
            <tbody>
              {points.map((p) => (
                <PointRow key={p.id} point={p} canRun={canRun} production={production} defaultTarget={defaultTarget} database={database} onChange={() => void queryClient.invalidateQueries({ queryKey: key })} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function PointRow({ point: p, canRun, production, defaultTarget, database, onChange }: { point: PublicRestorePoint; canRun: boolean; production: boolean; defaultTarget: string; database?: DatabaseProps; onChange: () => void }) {
  const restore = useStartJob(onChange);
  const verify = useStartJob(onChange);
  const [target, setTarget] = useState(defaultTarget);
  const [showRestore, setShowRestore] = useState(false);

  async function submitRestore(e: FormEvent) {
    e.preventDefault();
    if (await restore.start(`/api/restore-points/${p.id}/restore`, { targetPath: target })) setShowRestore(false);
  }

  const restoreResult = restore.run?.status === 'succeeded' ? (restore.run.result as { files?: number; verifiedFiles?: number }) : null;
  return (
    <tr data-testid={`restore-point-${p.snapshotId.slice(0, 8)}`}>
      <td>{new Date(p.completedAt).toLocaleString()}<div className="muted">{p.snapshotId.slice(0, 8)}</div></td>
      <td data-testid="content">{p.content === 'files' ? p.mode : `${contentLabel[p.content]}${p.databases.length ? ` (${p.databases.join(', ')})` : ''}`}</td>
      <td><span className={`badge ${p.status === 'complete' ? 'ok' : 'warn'}`}>{p.status}</span></td>
      <td>{p.fileCount}</td>
      <td>{bytes(p.sizeBytes)}</td>
      <td>{bytes(p.storedBytes)}</td>
      <td data-testid="verified">{p.verifiedAt ? <span className={`badge ${p.verifyOk ? 'ok' : 'bad'}`}>{p.verifyOk ? 'verified' : 'FAILED'}</span> : <span className="muted">not yet</span>}</td>
      {canRun && (
        <td style={{ minWidth: 260 }}>
          {database && p.content !== 'files' ? (
            <>
              {p.content === 'postgres-physical' ? <span className="muted">point-in-time recovery: see the window above</span> : <DatabaseRestoreForm point={p} servers={database.stagingServers} sourceName={database.sourceName} onDone={onChange} />}
              {verify.running ? <JobProgress run={verify.run} /> : <button className="secondary" onClick={() => void verify.start(`/api/restore-points/${p.id}/verify`, { testRestore: true, readDataPercent: 10 })}>Verify</button>}
            </>
          ) : restore.running || verify.running ? (
            <JobProgress run={restore.running ? restore.run : verify.run} />
          ) : showRestore ? (
            <form className="inline-form" onSubmit={submitRestore}>
              <input aria-label="Restore into directory" value={target} onChange={(e) => setTarget(e.target.value)} style={{ minWidth: 220 }} />
              <button type="submit">Restore</button>
              <button type="button" className="secondary" onClick={() => setShowRestore(false)}>Cancel</button>
            </form>
          ) : (
            <div className="inline-form">
              <button className="secondary" disabled={production} title={production ? 'Production restores need a second person’s approval (not available yet)' : undefined} onClick={() => setShowRestore(true)}>Restore…</button>
              <button className="secondary" onClick={() => void verify.start(`/api/restore-points/${p.id}/verify`, { testRestore: true, readDataPercent: 10 })}>Verify</button>
            </div>
          )}
          {restoreResult && <div className="muted" data-testid="restore-done">restored {restoreResult.verifiedFiles} files, all verified</div>}
          {[restore, verify].map((j, i) => (j.run?.status === 'failed' ? <div key={i} className="error">{j.run.error}</div> : j.error ? <div key={i} className="error">{j.error}</div> : null))}
        </td>
      )}
    </tr>
  );
}

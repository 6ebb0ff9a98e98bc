'use client';
import type { PublicJobRun } from '@/lib/console/jobs';
import { ProgressBar } from './progress-bar';

export { formatBytes as bytes } from '@/lib/format';
import { formatBytes as bytes } from '@/lib/format';

/** A job's live progress: bar, step, bytes and files. */
export function JobProgress({ run }: { run: PublicJobRun | undefined }) {
  if (!run) return <span className="muted">queued…</span>;
  const files = run.filesTotal ? `${run.filesDone}/${run.filesTotal} files` : run.filesDone ? `${run.filesDone} files` : '';
  const amount = run.bytesTotal ? `${bytes(run.bytesDone)} of ${bytes(run.bytesTotal)}` : run.bytesDone ? bytes(run.bytesDone) : '';
  return (
    <div data-testid="job-progress">
      <ProgressBar fraction={run.progress} />
      <span className="muted">
        {run.step ?? run.status} {amount && `· ${amount}`} {files && `· ${files}`}
      </span>
    </div>
  );
}

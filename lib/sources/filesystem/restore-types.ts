// Types shared by the restorer's modules (restorer.ts re-exports them for callers).

/** A problem with one path; the restore goes on. */
export type RestoreIssue = { path: string; message: string };

/** A problem that stops the whole restore (a path not in the snapshot, a target that is unsafe to write). */
export class RestoreError extends Error {
  name = 'RestoreError';
}

// CLI exit codes and how errors become one clear line on stderr. Codes follow restic's where they overlap,
// so existing monitoring keeps its meaning.
import { BlobError } from '../../lib/blob';
import { RepositoryNotFoundError } from '../../lib/repo/init';
import { WrongPasswordError } from '../../lib/repo/keys';
import { LocationError } from '../../lib/repo/location';
import { LockConflictError } from '../../lib/repo/lock';
import { InvalidSnapshotSelectorError } from '../../lib/repo/snapshot';

export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3, noRepository: 10, locked: 11, wrongPassword: 12 } as const;

export class UsageError extends Error {
  name = 'UsageError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof LocationError || err instanceof InvalidSnapshotSelectorError) return EXIT.usage;
  if (err instanceof RepositoryNotFoundError || isMissingBucket(err)) return EXIT.noRepository;
  if (err instanceof WrongPasswordError) return EXIT.wrongPassword;
  if (err instanceof LockConflictError) return EXIT.locked;
  if ((err as { code?: string })?.code === 'commander.invalidArgument') return EXIT.usage;
  return EXIT.failure;
}

/** The bucket named by the repository does not exist: there is no repository there either. */
function isMissingBucket(err: unknown): boolean {
  return err instanceof BlobError && (err.cause as { name?: string } | undefined)?.name === 'NoSuchBucket';
}

export function describeError(err: unknown): string {
  if (isMissingBucket(err)) return `no repository: ${(err as Error).message} (check LIFEBOAT_REPOSITORY, or create one with \`lifeboat init\`)`;
  if (err instanceof BlobError) return `storage error: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

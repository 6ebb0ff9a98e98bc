// CLI exit codes and how errors become one clear line on stderr. Codes follow restic's where they overlap,
// so existing monitoring keeps its meaning.
import { BlobError } from '../../lib/blob';
import { RepositoryNotFoundError } from '../../lib/repo/init';
import { WrongPasswordError } from '../../lib/repo/keys';

export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3, noRepository: 10, wrongPassword: 12 } as const;

export class UsageError extends Error {
  name = 'UsageError';
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof RepositoryNotFoundError) return EXIT.noRepository;
  if (err instanceof WrongPasswordError) return EXIT.wrongPassword;
  if ((err as { code?: string })?.code === 'commander.invalidArgument') return EXIT.usage;
  return EXIT.failure;
}

export function describeError(err: unknown): string {
  if (err instanceof BlobError) return `storage error: ${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

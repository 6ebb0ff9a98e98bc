// Snapshot manifest schema (docs/repository-format.md §9): the JSON inside a sealed `snapshots/<id>` object.
// parseSnapshot validates any decoded value and throws SnapshotFormatError naming the object and every bad
// field; it never returns a half-valid snapshot. Unknown fields are ignored (dropped) by readers, as §9 says.
// Pure and stateless.
import { z } from 'zod';

export const SNAPSHOT_VERSION = 1;

export const SOURCE_KINDS = ['filesystem', 'config', 'postgres', 'mysql'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

const hexId = (what: string) => z.string().regex(/^[0-9a-f]{64}$/, `${what} must be 64 lowercase hex characters`);
const rfc3339 = z.iso.datetime({ offset: true, error: 'must be an RFC 3339 date-time such as 2024-01-15T10:00:00Z' });
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const snapshotErrorSchema = z.object({ path: z.string(), message: z.string() });

export const snapshotSummarySchema = z.object({
  files: count,
  dirs: count,
  bytes: count,
  newFiles: count,
  changedFiles: count,
  unchangedFiles: count,
  newBlobs: count,
  addedBytes: count,
  errors: z.array(snapshotErrorSchema),
});

export const snapshotSourceSchema = z.object({
  kind: z.enum(SOURCE_KINDS),
  name: z.string().min(1, 'source name must not be empty'),
});

export const snapshotSchema = z.object({
  version: z.literal(SNAPSHOT_VERSION, { error: (i) => `unsupported snapshot version ${JSON.stringify(i.input)} (this reader knows ${SNAPSHOT_VERSION})` }),
  time: rfc3339,
  startTime: rfc3339,
  hostname: z.string().min(1, 'hostname must not be empty'),
  username: z.string(),
  source: snapshotSourceSchema,
  paths: z.array(z.string().min(1, 'a path must not be empty')),
  tags: z.array(z.string().min(1, 'a tag must not be empty')),
  tree: hexId('tree'),
  parent: hexId('parent').nullable(),
  mode: z.enum(['full', 'incremental']),
  status: z.enum(['complete', 'partial']),
  summary: snapshotSummarySchema,
  meta: z.record(z.string(), z.unknown()),
}).refine((s) => Date.parse(s.startTime) <= Date.parse(s.time), { message: 'startTime must not be after time', path: ['startTime'] });

export type Snapshot = z.output<typeof snapshotSchema>;
export type SnapshotSummary = z.output<typeof snapshotSummarySchema>;
export type SnapshotSource = z.output<typeof snapshotSourceSchema>;
export type SnapshotError = z.output<typeof snapshotErrorSchema>;

/** A snapshot manifest that does not follow §9 (after it decrypted and parsed as JSON). */
export class SnapshotFormatError extends Error {
  name = 'SnapshotFormatError';
}

/** "field.path: message; ..." for a zod error, shortest useful form for humans. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      return path ? `${path}: ${i.message}` : i.message;
    })
    .join('; ');
}

/** Validates a decoded snapshot; `what` names the object in errors (e.g. "snapshots/3fa2…"). */
export function parseSnapshot(value: unknown, what: string): Snapshot {
  const parsed = snapshotSchema.safeParse(value);
  if (!parsed.success) throw new SnapshotFormatError(`${what}: not a valid snapshot: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

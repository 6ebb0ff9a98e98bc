/**
 * The repository marker (docs/repository-format.md §3) and sealed config (§5).
 *
 * - Marker `lifeboat-repo`: plaintext JSON {format:"lifeboat", version:1, id}. readMarker returns null when
 *   there is none and throws RepositoryFormatError when it is not a Lifeboat marker or names a version this
 *   code does not read (the error names the version and the store).
 * - Config `config`: JSON sealed under the master key with AAD lifeboat/v1/config. readConfig throws
 *   IntegrityError (sealed-box) when the key is wrong or the object altered, and RepositoryFormatError when
 *   it is missing, of an unknown version, names an unknown algorithm (named in the message) or breaks a bound.
 * - newConfig gives the §5 defaults, which every writer uses so dedup works across machines.
 * Objects are written whole (BlobStore puts are atomic); no locking here: init orders the writes.
 */
import { z } from 'zod';
import { getBuffer, isNotFound, type BlobStore } from '../blob';
import { AAD } from './crypto/sealed-box';
import type { MasterKey } from './crypto/master-key';
import { CONFIG_KEY, MARKER_KEY } from './layout';
import { openJson, sealJson } from './objects';

export const REPOSITORY_FORMAT_VERSION = 1;
export const CONFIG_VERSION = 1;

export class RepositoryFormatError extends Error {
  readonly code = 'REPO_FORMAT' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RepositoryFormatError';
  }
}

const hexId = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
const unknown = (what: string, known: string) => ({
  error: (iss: { input?: unknown }) => `unknown ${what} ${JSON.stringify(iss.input)} (this Lifeboat knows ${known})`,
});
const MiB = 1024 * 1024;

export const markerSchema = z.object({ format: z.literal('lifeboat'), version: z.literal(REPOSITORY_FORMAT_VERSION), id: hexId });
export type Marker = z.infer<typeof markerSchema>;

export const configSchema = z.object({
  version: z.literal(CONFIG_VERSION),
  id: hexId,
  created: z.iso.datetime({ offset: true, error: 'must be an RFC 3339 timestamp' }),
  chunker: z.object({
    algorithm: z.literal('fastcdc-2020', unknown('chunker algorithm', 'fastcdc-2020')),
    minSize: z.number().int().min(64),
    avgSize: z.number().int().refine((n) => n >= 256 && (n & (n - 1)) === 0, 'must be a power of two >= 256'),
    maxSize: z.number().int().max(64 * MiB),
  }).refine((c) => c.minSize < c.avgSize && c.avgSize < c.maxSize, 'sizes must satisfy minSize < avgSize < maxSize'),
  compression: z.object({
    algorithm: z.literal('zstd', unknown('compression algorithm', 'zstd')),
    level: z.number().int().min(1).max(22),
  }),
  contentId: z.literal('hmac-sha256', unknown('content id algorithm', 'hmac-sha256')),
  packTargetSize: z.number().int().min(1).max(1024 * MiB),
});
export type RepositoryConfig = z.infer<typeof configSchema>;

export const DEFAULT_CONFIG = Object.freeze({
  chunker: Object.freeze({ algorithm: 'fastcdc-2020', minSize: 512 * 1024, avgSize: MiB, maxSize: 8 * MiB } as const),
  compression: Object.freeze({ algorithm: 'zstd', level: 3 } as const),
  contentId: 'hmac-sha256',
  packTargetSize: 16 * MiB,
} as const);

/** A version-1 config with the §5 defaults. */
export function newConfig(id: string, created: Date = new Date()): RepositoryConfig {
  return {
    version: CONFIG_VERSION,
    id,
    created: created.toISOString(),
    chunker: { ...DEFAULT_CONFIG.chunker },
    compression: { ...DEFAULT_CONFIG.compression },
    contentId: DEFAULT_CONFIG.contentId,
    packTargetSize: DEFAULT_CONFIG.packTargetSize,
  };
}

function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `field ${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Validates a marker's bytes; `where` is store.describe(). */
export function parseMarker(bytes: Buffer, where: string): Marker {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new RepositoryFormatError(`${MARKER_KEY} at ${where} is not valid JSON: not a Lifeboat repository marker`);
  }
  const r = (raw ?? {}) as Record<string, unknown>;
  if (r.format !== 'lifeboat') {
    throw new RepositoryFormatError(`${MARKER_KEY} at ${where} is not a Lifeboat repository marker (format ${JSON.stringify(r.format)})`);
  }
  if (r.version !== REPOSITORY_FORMAT_VERSION) {
    throw new RepositoryFormatError(
      `unsupported repository format version ${JSON.stringify(r.version)} at ${where} (this Lifeboat reads version ${REPOSITORY_FORMAT_VERSION})`,
    );
  }
  const parsed = markerSchema.safeParse(raw);
  if (!parsed.success) throw new RepositoryFormatError(`${MARKER_KEY} at ${where}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export async function readMarker(store: BlobStore): Promise<Marker | null> {
  try {
    return parseMarker(await getBuffer(store, MARKER_KEY), store.describe());
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

export async function writeMarker(store: BlobStore, id: string): Promise<Marker> {
  const marker: Marker = { format: 'lifeboat', version: REPOSITORY_FORMAT_VERSION, id };
  const bytes = Buffer.from(JSON.stringify(marker), 'utf8');
  await store.put(MARKER_KEY, () => bytes, { contentLength: bytes.length });
  return marker;
}

/** Validates a decrypted config; `where` is store.describe(). */
export function parseConfig(raw: unknown, where: string): RepositoryConfig {
  const version = (raw as { version?: unknown } | null)?.version;
  if (version !== CONFIG_VERSION) {
    throw new RepositoryFormatError(`unsupported config version ${JSON.stringify(version)} at ${where} (this Lifeboat reads version ${CONFIG_VERSION})`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new RepositoryFormatError(`config at ${where}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

export async function writeConfig(store: BlobStore, masterKey: MasterKey, config: RepositoryConfig): Promise<void> {
  const bytes = sealJson(masterKey, AAD.config, parseConfig(config, store.describe()));
  await store.put(CONFIG_KEY, () => bytes, { contentLength: bytes.length });
}

export async function readConfig(store: BlobStore, masterKey: MasterKey): Promise<RepositoryConfig> {
  let bytes: Buffer;
  try {
    bytes = await getBuffer(store, CONFIG_KEY);
  } catch (err) {
    if (isNotFound(err)) throw new RepositoryFormatError(`${CONFIG_KEY} is missing from ${store.describe()}: the repository is damaged`, { cause: err });
    throw err;
  }
  return parseConfig(openJson<unknown>(masterKey, AAD.config, bytes, CONFIG_KEY), store.describe());
}

// Typed process configuration. Every setting is read here and nowhere else; a missing or malformed one
// stops startup with one line per variable naming it and what it expects (never a stack trace).
import { z } from 'zod';

const url = (protocols: string[], example: string) =>
  z
    .string({ error: `is not set: expected ${example}` })
    .refine((v) => {
      try {
        return protocols.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `is malformed: expected ${example}`);

const secretKey = z
  .string({ error: 'is not set: expected 32 random bytes, base64 (openssl rand -base64 32)' })
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'is malformed: expected 32 random bytes, base64 (openssl rand -base64 32)');

const positiveInt = (fallback: number) =>
  z.coerce.number({ error: 'is malformed: expected a whole number' }).int('is malformed: expected a whole number').positive('must be positive').default(fallback);

const shapes = {
  DATABASE_URL: url(['postgresql:', 'postgres:'], 'postgresql://user@host:port/database'),
  REDIS_URL: url(['redis:', 'rediss:'], 'redis://host:port'),
  LIFEBOAT_SECRET_KEY: secretKey,
  NEXTAUTH_SECRET: z.string({ error: 'is not set: expected a random string of at least 32 characters' }).min(32, 'is too short: expected at least 32 characters'),
  NEXTAUTH_URL: url(['http:', 'https:'], 'http://127.0.0.1:3000').default('http://127.0.0.1:3000'),
  LIFEBOAT_DATA_DIR: z.string().min(1).default('./.lifeboat'),
  LIFEBOAT_RESTORE_ROOTS: z.string().optional(),
  LIFEBOAT_WORKER_CONCURRENCY: positiveInt(2),
  LIFEBOAT_WORKER_SHUTDOWN_GRACE_SECONDS: positiveInt(60),
  /** How often the worker reads the WAL archive of each PostgreSQL source for the achieved RPO (0: never). */
  LIFEBOAT_WAL_STATUS_SECONDS: z.coerce.number({ error: 'is malformed: expected a whole number of seconds' }).int('is malformed: expected a whole number of seconds').min(0, 'must be 0 (off) or more').default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { error: 'is malformed: expected one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
} as const;

type Shapes = typeof shapes;
export type EnvKey = keyof Shapes;
export type Env<K extends EnvKey> = { [P in K]: z.output<Shapes[P]> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parses the named variables from `source` (default process.env); throws ConfigError listing every problem. */
export function readEnv<K extends EnvKey>(keys: readonly K[], source: Record<string, string | undefined> = process.env): Env<K> {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const key of keys) {
    const raw = source[key] === '' ? undefined : source[key];
    const parsed = shapes[key].safeParse(raw);
    if (parsed.success) out[key] = parsed.data;
    else problems.push(`${key} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return out as Env<K>;
}

/** For process entry points: print the problems as plain lines and exit 2 instead of throwing. */
export function readEnvOrExit<K extends EnvKey>(keys: readonly K[]): Env<K> {
  try {
    return readEnv(keys);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const p of err.problems) console.error(`Configuration error: ${p}`);
    process.exit(2);
  }
}

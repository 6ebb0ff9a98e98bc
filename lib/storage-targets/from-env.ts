// The S3 storage target described by LIFEBOAT_S3_* (how `npm start` and docker-compose add a bucket
// without clicking). The environment owns this target: its settings are rewritten from the environment
// at every start. Missing or malformed variables are reported by name.
import type { Db } from '../db/client';
import { s3Columns } from './catalog';
import { s3TargetInput } from './schema';

export const ENV_TARGET_NAME = 's3';

const envNames = {
  endpoint: 'LIFEBOAT_S3_ENDPOINT',
  region: 'LIFEBOAT_S3_REGION',
  bucket: 'LIFEBOAT_S3_BUCKET',
  prefix: 'LIFEBOAT_S3_PREFIX',
  accessKeyId: 'LIFEBOAT_S3_ACCESS_KEY_ID',
  secretAccessKey: 'LIFEBOAT_S3_SECRET_ACCESS_KEY',
  forcePathStyle: 'LIFEBOAT_S3_FORCE_PATH_STYLE',
} as const;

type Env = Record<string, string | undefined>;

/** null when no LIFEBOAT_S3_* variable is set; throws naming every bad variable otherwise. */
export function s3TargetFromEnv(env: Env) {
  if (!Object.values(envNames).some((n) => env[n])) return null;
  const parsed = s3TargetInput.safeParse({
    kind: 's3',
    name: ENV_TARGET_NAME,
    role: 'primary',
    endpoint: env[envNames.endpoint] ?? '',
    region: env[envNames.region] || 'us-east-1',
    bucket: env[envNames.bucket],
    prefix: env[envNames.prefix] ?? '',
    accessKeyId: env[envNames.accessKeyId],
    secretAccessKey: env[envNames.secretAccessKey],
    forcePathStyle: (env[envNames.forcePathStyle] ?? 'true') !== 'false',
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${envNames[i.path[0] as keyof typeof envNames] ?? String(i.path[0])} ${i.message}`);
    throw new Error(`S3 settings in the environment are incomplete: ${lines.join('; ')}`);
  }
  return parsed.data;
}

export async function upsertS3TargetFromEnv(db: Db, env: Env): Promise<'created' | 'updated' | 'none'> {
  const input = s3TargetFromEnv(env);
  if (!input) return 'none';
  const secretKey = env.LIFEBOAT_SECRET_KEY;
  if (!secretKey) throw new Error('LIFEBOAT_SECRET_KEY is not set: it is needed to store the S3 secret key encrypted');
  const data = s3Columns(input, secretKey);
  const existing = await db.storageTarget.findUnique({ where: { name: ENV_TARGET_NAME } });
  await db.storageTarget.upsert({ where: { name: ENV_TARGET_NAME }, create: { name: ENV_TARGET_NAME, ...data }, update: data });
  return existing ? 'updated' : 'created';
}

// Catalog seed (`npm run db:seed`, or `seed(prisma, env)` in-process). Idempotent: only creates what is missing,
// never overwrites rows an operator may have edited.
//   - RetentionPolicy "gfs-default": keepLast 1, 30 daily / 12 weekly / 12 monthly / 7 yearly.
//   - An admin user, only if no user with role admin exists: e-mail LIFEBOAT_ADMIN_EMAIL (default
//     admin@lifeboat.local), password LIFEBOAT_ADMIN_PASSWORD (>= 12 chars) or a random 20-character one that is
//     printed once to stdout as `Admin login: <email> / <password>` (and returned, never stored in clear).
//   - StorageTarget "local" (kind local, role primary, path LIFEBOAT_STORAGE_DIR or
//     <LIFEBOAT_DATA_DIR or ./.lifeboat>/storage, made absolute and created on disk); it is the default target
//     unless another target already is.
//   - StorageTarget "s3" from LIFEBOAT_S3_* when any of them is set (lib/storage-targets/from-env.ts).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { randomInt } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../lib/db/generated/client';
import { hashPassword } from '../../lib/auth/password';
import { upsertS3TargetFromEnv } from '../../lib/storage-targets/from-env';

type Db = InstanceType<typeof PrismaClient>;
export type SeedEnv = Record<string, string | undefined>;

export interface SeedResult {
  retentionPolicy: 'created' | 'exists';
  admin: { email: string; created: boolean; generatedPassword?: string };
  storageTarget: { path: string; created: boolean; isDefault: boolean };
  s3Target: 'created' | 'updated' | 'none';
}

export const DEFAULT_ADMIN_EMAIL = 'admin@lifeboat.local';
const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

export function randomPassword(length = 20): string {
  let out = '';
  for (let i = 0; i < length; i++) out += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return out;
}

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'P2002';
}

async function ensureRetentionPolicy(prisma: Db): Promise<SeedResult['retentionPolicy']> {
  const name = 'gfs-default';
  if (await prisma.retentionPolicy.findUnique({ where: { name } })) return 'exists';
  try {
    await prisma.retentionPolicy.create({
      data: { name, keepLast: 1, keepHourly: 0, keepDaily: 30, keepWeekly: 12, keepMonthly: 12, keepYearly: 7 },
    });
    return 'created';
  } catch (err) {
    if (isUniqueViolation(err)) return 'exists'; // a concurrent seed won the race
    throw err;
  }
}

async function ensureAdmin(prisma: Db, env: SeedEnv): Promise<SeedResult['admin']> {
  const email = (env.LIFEBOAT_ADMIN_EMAIL || DEFAULT_ADMIN_EMAIL).trim().toLowerCase();
  const existingAdmin = await prisma.user.findFirst({ where: { role: 'admin' }, orderBy: { createdAt: 'asc' } });
  if (existingAdmin) return { email: existingAdmin.email, created: false };
  if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new Error(`LIFEBOAT_ADMIN_EMAIL is malformed: expected an e-mail address`);
  const sameEmail = await prisma.user.findUnique({ where: { email } });
  if (sameEmail) {
    throw new Error(
      `No admin user exists and ${email} is already a ${sameEmail.role}: promote that user or set LIFEBOAT_ADMIN_EMAIL to another address`,
    );
  }
  const given = env.LIFEBOAT_ADMIN_PASSWORD;
  if (given !== undefined && given !== '' && given.length < 12) {
    throw new Error('LIFEBOAT_ADMIN_PASSWORD is too short: expected at least 12 characters');
  }
  const password = given || randomPassword(20);
  try {
    await prisma.user.create({
      data: { email, name: 'Administrator', role: 'admin', passwordHash: await hashPassword(password) },
    });
  } catch (err) {
    if (isUniqueViolation(err)) return { email, created: false };
    throw err;
  }
  if (given) return { email, created: true };
  console.log(`Admin login: ${email} / ${password}`);
  return { email, created: true, generatedPassword: password };
}

export function localStorageDir(env: SeedEnv): string {
  const dir = env.LIFEBOAT_STORAGE_DIR || path.join(env.LIFEBOAT_DATA_DIR || './.lifeboat', 'storage');
  return path.resolve(dir);
}

async function ensureLocalStorageTarget(prisma: Db, env: SeedEnv): Promise<SeedResult['storageTarget']> {
  const name = 'local';
  const existing = await prisma.storageTarget.findUnique({ where: { name } });
  if (existing) return { path: existing.path ?? '', created: false, isDefault: existing.isDefault };
  const dir = localStorageDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const otherDefault = await prisma.storageTarget.findFirst({ where: { isDefault: true } });
  try {
    await prisma.storageTarget.create({
      data: { name, kind: 'local', role: 'primary', path: dir, isDefault: !otherDefault },
    });
  } catch (err) {
    if (isUniqueViolation(err)) return ensureLocalStorageTarget(prisma, env);
    throw err;
  }
  return { path: dir, created: true, isDefault: !otherDefault };
}

export async function seed(prisma: Db, env: SeedEnv = process.env): Promise<SeedResult> {
  const retentionPolicy = await ensureRetentionPolicy(prisma);
  const admin = await ensureAdmin(prisma, env);
  const storageTarget = await ensureLocalStorageTarget(prisma, env);
  const s3Target = await upsertS3TargetFromEnv(prisma, env);
  return { retentionPolicy, admin, storageTarget, s3Target };
}

function describe(err: unknown, databaseUrl: string): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const where = (() => {
    try {
      const u = new URL(databaseUrl);
      return `${u.hostname}:${u.port || 5432}${u.pathname}`;
    } catch {
      return 'DATABASE_URL';
    }
  })();
  if (e?.code === 'P2021') return `the catalog at ${where} is not migrated: run npm run db:migrate first`;
  if (e?.code === 'ECONNREFUSED' || e?.cause?.code === 'ECONNREFUSED') return `cannot reach PostgreSQL at ${where} (ECONNREFUSED)`;
  return (e?.message ?? String(err)).trim().split('\n').filter(Boolean).pop() ?? String(err);
}

async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    console.error('DATABASE_URL is not set: expected postgresql://user@host:port/database');
    return 2;
  }
  const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl }) });
  try {
    const r = await seed(prisma, process.env);
    console.log(`Retention policy gfs-default: ${r.retentionPolicy}`);
    console.log(`Admin user ${r.admin.email}: ${r.admin.created ? 'created' : 'exists'}`);
    console.log(`Storage target local (${r.storageTarget.path}): ${r.storageTarget.created ? 'created' : 'exists'}`);
    if (r.s3Target !== 'none') console.log(`Storage target s3 (from LIFEBOAT_S3_*): ${r.s3Target}`);
    return 0;
  } catch (err) {
    console.error(`seed failed: ${describe(err, databaseUrl)}`);
    return 1;
  } finally {
    await prisma.$disconnect().catch(() => {});
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}

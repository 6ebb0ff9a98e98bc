// Database sources through the worker, as a real process against real services: a throwaway PostgreSQL
// cluster that checks passwords (scram for the application role) and a throwaway MariaDB server with a
// password-protected user, the catalog, Redis and a local-directory repository. A postgres and a mysql source
// are created with passwords through lib/catalog (what POST /api/sources calls), backed up by backup jobs (the
// mysql one asks for binlog archiving from a server that logs none: reported, not fatal),
// then restored by restore-database jobs (planned as the API plans them) into new databases on staging
// servers, validated. The password must not appear in BullMQ job data, JobRun rows, what the API returns,
// the restore request or the worker's log.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Db } from '../lib/db/client';
import { backupJob } from '../lib/jobs/backup';
import { restoreDatabaseJob } from '../lib/jobs/restore-database';
import { enqueueJob } from '../lib/jobs/enqueue';
import { producerConnection } from '../lib/jobs/connection';
import { createSource, getSource, listRestorePoints, listSources, updateSource } from '../lib/catalog/sources';
import { planDatabaseRestore, stagingServersFor } from '../lib/catalog/database-restore';
import { getJobRun } from '../lib/console/jobs';
import { recoveryWindowForSource } from '../lib/console/recovery-window';
import { refreshWalStatus } from './wal-status';
import { ensurePostgres as ensurePostgresUntyped } from '../scripts/services/postgres.mjs';
import { ensureMariadb as ensureMariadbUntyped } from '../scripts/services/mariadb.mjs';
import { freePort } from '../scripts/services/util.mjs';

type Cluster = { url: string; stop: () => Promise<void> };
const ensurePostgres = ensurePostgresUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; extraConf?: string }) => Promise<Cluster>;
type Maria = { host: string; port: number; stop: () => Promise<void> };
const ensureMariadb = ensureMariadbUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; binlog?: boolean }) => Promise<Maria>;

function requireEnv(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run this suite through \`npm test\`, which starts the services`);
  return v;
}

const PASSWORD = `Pw-${randomBytes(9).toString('hex')}-"q'uote`;
const suffix = Date.now().toString(36);
const work = mkdtempSync(join(tmpdir(), 'lifeboat-worker-db-'));
let db: Db;
let secretKey: string;
let worker: ChildProcess;
let workerLog = '';
let pgCluster: Cluster | undefined;
let pgPort: number;
let maria: Maria | undefined;
let targetId: string;

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, what: string, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}\nworker log:\n${workerLog.slice(-3000)}`);
}

const finished = (jobRunId: string) =>
  waitFor(async () => {
    const run = await db.jobRun.findUnique({ where: { id: jobRunId } });
    return run && ['succeeded', 'failed', 'partial'].includes(run.status) ? run : null;
  }, `job ${jobRunId}`);

async function pgSql(database: string, sql: string, user = 'postgres', password?: string) {
  const c = new pg.Client({ host: '127.0.0.1', port: pgPort, user, password, database });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

async function mySql(sql: string, database?: string) {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: maria!.port, user: 'root', database, multipleStatements: true });
  try {
    return (await c.query(sql))[0];
  } finally {
    await c.end();
  }
}

/** Everything about a job that leaves the worker: its BullMQ data, its JobRun row, what GET /api/jobs/:id answers. */
async function jobTraces(queueName: string, jobRunId: string): Promise<string> {
  const queue = new Queue(queueName, { connection: producerConnection() });
  try {
    const job = await queue.getJob(jobRunId);
    expect(job, `BullMQ job ${jobRunId}`).toBeTruthy();
    const row = await db.jobRun.findUniqueOrThrow({ where: { id: jobRunId } });
    return JSON.stringify([job!.data, job!.returnvalue, job!.failedReason, job!.progress, row, await getJobRun(db, jobRunId)], (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  } finally {
    await queue.close();
  }
}

beforeAll(async () => {
  db = createDb(requireEnv('DATABASE_URL'));
  requireEnv('REDIS_URL');
  secretKey = requireEnv('LIFEBOAT_SECRET_KEY');
  pgPort = await freePort();
  const pgDir = join(work, 'pg');
  const hba = join(work, 'pg_hba.conf');
  // The application role must authenticate with its password over TCP; postgres (for setup) is trusted.
  writeFileSync(hba, 'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n', { mode: 0o644 });
  const [cluster, mariaServer] = await Promise.all([
    ensurePostgres({ dataDir: pgDir, port: pgPort, log: () => {}, extraConf: `hba_file = '${hba}'\npassword_encryption = 'scram-sha-256'\n` }),
    freePort().then((port) => ensureMariadb({ dataDir: join(work, 'maria'), port, log: () => {}, binlog: false })),
  ]);
  pgCluster = cluster;
  maria = mariaServer;
  await pgSql('postgres', `CREATE ROLE lb_app LOGIN CREATEDB PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  await pgSql('postgres', 'CREATE DATABASE shop OWNER lb_app');
  await pgSql('shop', `CREATE TABLE customers (id int PRIMARY KEY, name text);
    INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 300) g;
    CREATE TABLE orders (id int PRIMARY KEY, customer int REFERENCES customers, amount numeric(8,2));
    INSERT INTO orders SELECT g, 1 + g % 300, g * 1.5 FROM generate_series(1, 2000) g;`, 'lb_app', PASSWORD);
  await mySql(`CREATE USER 'lb_app'@'127.0.0.1' IDENTIFIED BY ${mysql.escape(PASSWORD)}; GRANT ALL PRIVILEGES ON *.* TO 'lb_app'@'127.0.0.1';
    CREATE DATABASE shop; USE shop; CREATE TABLE items (id int PRIMARY KEY, label varchar(40)) ENGINE=InnoDB;
    INSERT INTO items SELECT seq, CONCAT('item ', seq) FROM seq_1_to_500;`);

  targetId = (await db.storageTarget.create({ data: { name: `dbrepo-${suffix}`, kind: 'local', path: join(work, 'repo') } })).id;
  worker = spawn('node_modules/.bin/tsx', ['worker/main.ts'], { env: { ...process.env, LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
  worker.stdout!.on('data', (d) => (workerLog += d));
  worker.stderr!.on('data', (d) => (workerLog += d));
  await waitFor(async () => workerLog.includes('worker ready'), 'worker ready', 30_000);
}, 180_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker.once('exit', r));
    worker.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (worker.exitCode === null) worker.kill('SIGKILL');
  }
  producerConnection().disconnect();
  await db?.$disconnect();
  await pgCluster?.stop().catch(() => {});
  await maria?.stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
}, 60_000);

describe('database sources in the worker', () => {
  it('postgres: backup job, restore job into a staging database, validation ok, the password nowhere', async () => {
    const pgConfig = (database: string) => ({ host: '127.0.0.1', port: pgPort, user: 'lb_app', database, smokeQueries: ['SELECT 1 FROM customers WHERE id = 42'] });
    const source = await createSource(db, { name: `pg-prod-${suffix}`, kind: 'postgres', environment: 'production', storageTargetId: targetId, config: pgConfig('shop'), password: PASSWORD }, secretKey);
    expect(source.secretsEnc).toMatch(/^v1\./);
    expect(JSON.stringify(source.config)).not.toContain(PASSWORD);
    // The staging server: the same cluster, described by a staging source with its own (same) password.
    const staging = await createSource(db, { name: `pg-staging-${suffix}`, kind: 'postgres', environment: 'staging', storageTargetId: targetId, config: pgConfig('postgres') }, secretKey);
    expect((await getSource(db, staging.id))!.hasPassword).toBe(false);
    await updateSource(db, staging.id, { name: staging.name, kind: 'postgres', environment: 'staging', storageTargetId: targetId, config: pgConfig('postgres'), password: PASSWORD }, secretKey);
    expect((await getSource(db, staging.id))!.hasPassword).toBe(true);

    const backup = await enqueueJob(db, backupJob, { sourceId: source.id }, { sourceId: source.id, storageTargetId: targetId });
    const backupRun = await finished(backup.jobRunId);
    expect(backupRun.error).toBeNull();
    expect(backupRun.status).toBe('succeeded');
    expect(Number(backupRun.bytesDone)).toBeGreaterThan(10_000);
    const [point] = await listRestorePoints(db, source.id);
    expect(point).toMatchObject({ content: 'postgres-logical', databases: ['shop'], status: 'complete' });
    // The catalog keeps a digest of the manifest, not every table's checksum.
    const row = await db.restorePoint.findUniqueOrThrow({ where: { id: point!.id } });
    expect((row.summary as { meta: { postgres: { databases: { tableCount: number; rows: number }[] } } }).meta.postgres.databases[0]).toMatchObject({ tableCount: 2, rows: 2300 });

    // Production servers are refused; the staging server is offered and accepted.
    await expect(planDatabaseRestore(db, point!.id, { targetDatabase: 'shop_copy' })).rejects.toThrow(/approval/);
    expect((await stagingServersFor(db, source.id)).map((s) => s.id)).toContain(staging.id);
    await expect(planDatabaseRestore(db, point!.id, { targetDatabase: 'postgres', serverSourceId: staging.id })).rejects.toThrow(/already uses/);
    const plan = await planDatabaseRestore(db, point!.id, { targetDatabase: `shop_restored_${suffix}`, serverSourceId: staging.id });
    const restore = await enqueueJob(db, restoreDatabaseJob, plan.payload, plan.links);
    await db.restoreRequest.create({ data: { sourceId: source.id, restorePointId: point!.id, targetEnvironment: 'staging', target: { database: plan.payload.targetDatabase }, status: 'running', requestedById: (await db.user.findFirstOrThrow()).id, jobRunId: restore.jobRunId } });
    const run = await finished(restore.jobRunId);
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    const result = run.result as { ok: boolean; targetDatabase: string; validation: { ok: boolean; tablesChecked: number }; smoke: { ok: boolean }[]; server: string };
    expect(result).toMatchObject({ ok: true, targetDatabase: `shop_restored_${suffix}`, validation: { ok: true, tablesChecked: 2 }, smoke: [{ ok: true }] });
    expect(result.server).toContain('lb_app@127.0.0.1');
    expect(await pgSql(`shop_restored_${suffix}`, 'SELECT count(*)::int AS n, sum(amount)::text AS s FROM orders')).toEqual([{ n: 2000, s: '3001500.00' }]);
    expect((await db.restoreRequest.findFirstOrThrow({ where: { jobRunId: restore.jobRunId } })).status).toBe('succeeded');

    // A second restore into the same name is refused by the engine, not silently overwritten.
    const again = await enqueueJob(db, restoreDatabaseJob, plan.payload, plan.links);
    const refused = await finished(again.jobRunId);
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatch(/already exists/);

    // The window panel for a logical-only source says why there is no window.
    expect(await recoveryWindowForSource(db, source.id, secretKey)).toMatchObject({ available: false, reason: expect.stringMatching(/No base backup/) });
    // The worker's WAL status round reads it too: without a base backup, archived WAL does not count for the RPO.
    await db.source.update({ where: { id: source.id }, data: { walArchivedAt: new Date() } });
    expect((await listSources(db, { id: source.id }))[0]!.rpoFrom).toBe('WAL');
    const warnings: unknown[] = [];
    expect(await refreshWalStatus(db, secretKey, { warn: (...a: unknown[]) => void warnings.push(a) } as never)).toBeGreaterThanOrEqual(1);
    expect(warnings).toEqual([]);
    expect((await db.source.findUniqueOrThrow({ where: { id: source.id } })).walArchivedAt).toBeNull();
    expect((await listSources(db, { id: source.id }))[0]!.rpoFrom).toBe('restore point');

    for (const [queue, id] of [['backup', backup.jobRunId], ['restore-database', restore.jobRunId], ['restore-database', again.jobRunId]] as const) {
      expect(await jobTraces(queue, id)).not.toContain(PASSWORD);
    }
    const api = JSON.stringify([await listSources(db), await getSource(db, source.id), await getSource(db, staging.id), await listRestorePoints(db, source.id), await db.restoreRequest.findMany({ where: { sourceId: source.id } })]);
    expect(api).not.toContain(PASSWORD);
    expect(api).not.toContain('secretsEnc');
    expect(workerLog).not.toContain(PASSWORD);
  });

  it('mysql: backup job, restore job into a new database on its staging server, validation ok, the password nowhere', async () => {
    const source = await createSource(
      db,
      { name: `my-${suffix}`, kind: 'mysql', environment: 'staging', storageTargetId: targetId, config: { host: '127.0.0.1', port: maria!.port, user: 'lb_app', database: 'shop', smokeQueries: ['SELECT id FROM items WHERE id = 7'], archiveBinlogs: true }, password: PASSWORD },
      secretKey,
    );
    const backup = await enqueueJob(db, backupJob, { sourceId: source.id }, { sourceId: source.id, storageTargetId: targetId });
    const backupRun = await finished(backup.jobRunId);
    expect(backupRun.error).toBeNull();
    expect(backupRun.status).toBe('succeeded');
    const [point] = await listRestorePoints(db, source.id);
    expect(point).toMatchObject({ content: 'mysql-logical', databases: ['shop'] });
    // Binlog archiving is asked for, but this server logs none: the dump still counts, the job says why.
    expect(JSON.stringify(backupRun.result)).toMatch(/"binlogs":\{"error":"binary logging is off on lb_app@127\.0\.0\.1:\d+/);
    const warnings: unknown[][] = [];
    await refreshWalStatus(db, secretKey, { warn: (...a: unknown[]) => void warnings.push(a) } as never);
    expect(warnings.map(([fields, message]) => [(fields as { source: string }).source, message])).toEqual([[source.name, 'could not archive the binary logs']]);
    expect(JSON.stringify(warnings)).toMatch(/binary logging is off/);

    const plan = await planDatabaseRestore(db, point!.id, { targetDatabase: 'shop_staging' });
    expect(plan.payload.serverSourceId).toBe(source.id);
    const restore = await enqueueJob(db, restoreDatabaseJob, plan.payload, plan.links);
    const run = await finished(restore.jobRunId);
    expect(run.error).toBeNull();
    expect(run.status).toBe('succeeded');
    expect(run.result).toMatchObject({ engine: 'mysql', ok: true, targetDatabase: 'shop_staging', validation: { ok: true, tablesChecked: 1 }, smoke: [{ ok: true }] });
    expect(await mySql('SELECT COUNT(*) AS n FROM items', 'shop_staging')).toEqual([{ n: 500 }]);

    for (const [queue, id] of [['backup', backup.jobRunId], ['restore-database', restore.jobRunId]] as const) {
      expect(await jobTraces(queue, id)).not.toContain(PASSWORD);
    }
    expect(JSON.stringify([await listSources(db), await getSource(db, source.id)])).not.toContain(PASSWORD);
    expect(workerLog).not.toContain(PASSWORD);
  });

  it('mysql with binary logging: the status round archives new binlogs and moves the recovery window', async () => {
    const logged = await ensureMariadb({ dataDir: join(work, 'maria-binlog'), port: await freePort(), log: () => {}, binlog: true });
    try {
      const root = await mysql.createConnection({ host: '127.0.0.1', port: logged.port, user: 'root', multipleStatements: true });
      await root.query(`CREATE USER lb@'127.0.0.1' IDENTIFIED BY ${mysql.escape(PASSWORD)}; GRANT ALL PRIVILEGES ON *.* TO lb@'127.0.0.1';
        CREATE DATABASE shop; CREATE TABLE shop.items (id int PRIMARY KEY) ENGINE=InnoDB; INSERT INTO shop.items VALUES (1);`);
      const source = await createSource(
        db,
        { name: `mylog-${suffix}`, kind: 'mysql', environment: 'staging', storageTargetId: targetId, config: { host: '127.0.0.1', port: logged.port, user: 'lb', database: 'shop', archiveBinlogs: true }, password: PASSWORD },
        secretKey,
      );
      const backup = await finished((await enqueueJob(db, backupJob, { sourceId: source.id }, { sourceId: source.id, storageTargetId: targetId })).jobRunId);
      expect(backup.status, backup.error ?? '').toBe('succeeded');
      expect(backup.result).toMatchObject({ binlogs: { pushed: [expect.stringMatching(/^binlog\.\d{6}$/)], newest: expect.stringMatching(/^binlog\.\d{6}$/) } });
      const first = await recoveryWindowForSource(db, source.id, secretKey);
      expect(first).toMatchObject({ engine: 'mysql', available: true });

      await new Promise((r) => setTimeout(r, 1100));
      await root.query('INSERT INTO shop.items VALUES (2)');
      await root.end();
      const warnings: unknown[] = [];
      expect(await refreshWalStatus(db, secretKey, { warn: (...a: unknown[]) => void warnings.push(a) } as never)).toBeGreaterThanOrEqual(1);
      const after = await recoveryWindowForSource(db, source.id, secretKey);
      // One more closed file, archived later than the backup's push: the window (and the achieved RPO) moved on.
      expect(after!.systems[0]!.walFiles).toBe(first!.systems[0]!.walFiles + 1);
      expect(Date.parse(after!.systems[0]!.to!)).toBeGreaterThan(Date.parse(first!.systems[0]!.to!));
      expect((await db.source.findUniqueOrThrow({ where: { id: source.id } })).walArchivedAt?.toISOString()).toBe(after!.systems[0]!.to);
      expect(JSON.stringify(warnings)).not.toContain(source.name);
      expect(workerLog).not.toContain(PASSWORD);
    } finally {
      await logged.stop().catch(() => {});
    }
  });

  it('a wrong stored password fails the backup with the server’s reason, not the password', async () => {
    const source = await createSource(db, { name: `pg-bad-${suffix}`, kind: 'postgres', storageTargetId: targetId, config: { host: '127.0.0.1', port: pgPort, user: 'lb_app', database: 'shop' }, password: 'not-the-password' }, secretKey);
    const run = await finished((await enqueueJob(db, backupJob, { sourceId: source.id }, { sourceId: source.id, storageTargetId: targetId })).jobRunId);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/lb_app@127\.0\.0\.1:\d+\/shop/);
    expect(run.error).not.toContain('not-the-password');
    expect(await listRestorePoints(db, source.id)).toEqual([]);
  });
});

// PostgreSQL WAL archiving and point-in-time recovery as an operator runs it: a throwaway cluster whose
// archive_command is the real `lifeboat wal-push %p` (run by the server as the postgres OS user, configured
// through --env-file), a repository on RADOS Gateway, `lifeboat database base-backup`, rows written at T1,
// T2 and T3, then `lifeboat database recover` into new data directories that PostgreSQL itself recovers
// through `lifeboat wal-fetch`; and the console's point-in-time restore of one database into another server
// (recoverToDatabase). No mocks.
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBuffer, openBlobStore } from '../../lib/blob';
import { S3BlobStore } from '../../lib/blob/s3';
import { repositoryLocation } from '../../lib/repo/location';
import { Repository } from '../../lib/repo/repository';
import { WalArchive, baseBackupsIn, chooseBaseBackup, recoverToDatabase } from '../../lib/sources/postgres/physical';
import { deleteTestBucket } from '../../lib/blob/testing';
import { s3TestEnv } from '../../lib/repo/keys/test-support';
import { pgTool } from '../../lib/sources/postgres/connection';
import { ensurePostgres as ensurePostgresUntyped } from '../../scripts/services/postgres.mjs';
import { freePort } from '../../scripts/services/util.mjs';
import { CLI, cleanEnv, lifeboat, lifeboatJson, run, type Env } from './test-support';
import { spawn } from 'node:child_process';

type Cluster = { url: string; started: boolean; stop: () => Promise<void> };
const ensurePostgres = ensurePostgresUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; extraConf?: string }) => Promise<Cluster>;

let work: string;
let server: Cluster | undefined;
let bare: Cluster | undefined;
let port: number;
let barePort: number;
let env: Env;
let admin: S3BlobStore;
const bucket = `lifeboat-pitr-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
const prefix = 'pg';
const recovered: string[] = [];
let systemId: string;
let times: { afterT2: string; beforeT3: string };

const pgAs = (args: string[]) => run('runuser', ['-u', 'postgres', '--', ...args], { timeoutMs: 60_000 });

async function psql(p: number, sql: string): Promise<string> {
  const r = await run(pgTool('psql'), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(p), '-U', 'postgres', '-d', 'postgres', '-c', sql]);
  if (r.code !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the archive holds `segment` (wal-status lists it). */
async function waitArchived(segment: string) {
  for (let i = 0; i < 60; i++) {
    const s = await lifeboatJson<{ systems: { newestWal: { name: string } | null }[] }>(['--json', 'database', 'wal-status'], env);
    if ((s.systems[0]?.newestWal?.name ?? '') >= segment) return;
    await sleep(500);
  }
  throw new Error(`${segment} was not archived within 30 s`);
}

async function recover(dir: string, target: string[], extra: string[] = []) {
  const p = await freePort();
  recovered.push(dir);
  const r = await lifeboat(['--json', 'database', 'recover', '--data-dir', dir, ...target, '--port', String(p), '--listen-addresses', '127.0.0.1', ...extra], env, { timeoutMs: 180_000 });
  return { r, port: p };
}

/** recoverToDatabase's options for copying database postgres of the recovered cluster into the bare server. */
function intoBare(repo: Repository, wal: Awaited<ReturnType<WalArchive['list']>>, scratchParent: string) {
  return {
    walFetch: { command: [process.execPath, CLI], env: env as Record<string, string> },
    wal,
    archive: new WalArchive(repo.store, repo.masterKey, systemId),
    scratchParent,
    role: 'postgres',
    database: 'postgres',
    to: { host: '127.0.0.1', port: barePort, user: 'postgres', database: 'postgres' },
  };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-pitr-'));
  const s3 = s3TestEnv();
  admin = new S3BlobStore({ ...s3, bucket });
  await admin.ensureBucket();
  env = {
    LIFEBOAT_REPOSITORY: `s3://${bucket}/${prefix}`,
    LIFEBOAT_S3_ENDPOINT: s3.endpoint,
    LIFEBOAT_S3_REGION: s3.region,
    LIFEBOAT_S3_ACCESS_KEY_ID: s3.accessKeyId,
    LIFEBOAT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    LIFEBOAT_PASSWORD: 'pitr test password',
    LIFEBOAT_CACHE_DIR: 'off',
  };
  const init = await lifeboat(['init'], env); // also builds the CLI bundle the postgres user will run
  expect(init.code, init.stderr).toBe(0);
  // archive_command's settings: a 0600 file the server's OS user can read, never the command line.
  const envFile = join(work, 'wal.env');
  await writeFile(envFile, Object.entries(env).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n'), { mode: 0o600 });
  if (process.getuid?.() === 0) await chown(envFile, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
  port = await freePort();
  server = await ensurePostgres({
    dataDir: join(work, 'cluster'),
    port,
    log: () => {},
    extraConf: `archive_mode = on\narchive_command = '${process.execPath} ${CLI} --env-file ${envFile} wal-push %p'\n`,
  });
  barePort = await freePort();
  bare = await ensurePostgres({ dataDir: join(work, 'bare'), port: barePort, log: () => {} });
  await psql(port, 'CREATE TABLE events (id int PRIMARY KEY, label text, at timestamptz DEFAULT clock_timestamp())');
  await psql(port, "INSERT INTO events (id, label) SELECT g, 'before the base backup' FROM generate_series(1, 1000) g");
}, 240_000);

afterAll(async () => {
  for (const dir of recovered) if (existsSync(join(dir, 'postmaster.pid'))) await pgAs([join(pgTool('psql'), '..', 'pg_ctl'), '-D', dir, '-m', 'immediate', '-w', 'stop']).catch(() => {});
  await server?.stop().catch(() => {});
  await bare?.stop().catch(() => {});
  if (admin) {
    await deleteTestBucket(admin.client, bucket).catch(() => {});
    admin.destroy();
  }
  await rm(work, { recursive: true, force: true });
}, 120_000);

describe('WAL archiving and point-in-time recovery', () => {
  it('archive-check proves the server archives into this repository (a switched WAL file arrives)', async () => {
    const r = await lifeboat(['--json', 'database', 'archive-check', '--host', '127.0.0.1', '--port', String(port), '--user', 'postgres'], env, { timeoutMs: 120_000 });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as { ok: boolean; systemId: string; checks: { name: string; ok: boolean; detail: string }[] };
    expect(out.ok).toBe(true);
    expect(out.checks.find((c) => c.name === 'WAL switch')!.detail).toMatch(/arrived in the repository/);
    systemId = out.systemId;
    expect(systemId).toBe(await psql(port, 'SELECT system_identifier FROM pg_control_system()'));
  });

  it('archive-check and base-backup refuse a server that does not archive, saying what to set', async () => {
    const check = await lifeboat(['database', 'archive-check', '--host', '127.0.0.1', '--port', String(barePort), '--user', 'postgres'], env);
    expect(check.code).toBe(1);
    expect(check.stdout).toMatch(/FAIL archive_mode: off: set archive_mode = on/);
    const base = await lifeboat(['database', 'base-backup', '--host', '127.0.0.1', '--port', String(barePort), '--user', 'postgres'], env);
    expect(base.code).toBe(1);
    expect(base.stderr).toMatch(/archive_mode is off on postgres@127\.0\.0\.1:\d+\/postgres/);
    const snaps = await lifeboatJson<unknown[]>(['--json', 'snapshots'], env);
    expect(snaps).toHaveLength(0);
  });

  it('takes a base backup whose WAL is in the archive, then records T1, T2, T3', async () => {
    const b = await lifeboatJson<{ id: string; systemId: string; startWal: string; stopWal: string; manifest: boolean; bytes: number }>(
      ['--json', 'database', 'base-backup', '--host', '127.0.0.1', '--port', String(port), '--user', 'postgres', '--source-name', 'main-db'],
      env,
    );
    expect(b.systemId).toBe(systemId);
    expect(b.manifest).toBe(true);
    expect(b.bytes).toBeGreaterThan(10_000_000);
    // verify's test restore also reads the base backup as a recovery would: every file against its manifest.
    const verified = await lifeboatJson<{ ok: boolean; testRestore: { errors: string[] } }>(['--json', 'verify', '--test-restore', '--snapshot', b.id], env);
    expect(verified.ok).toBe(true);
    expect(verified.testRestore.errors).toEqual([]);
    // A base backup is not a dump: the logical restore does not pick it.
    const logical = await lifeboat(['database', 'restore', '--target-database', 'copy'], env);
    expect(logical.code).toBe(1);
    expect(logical.stderr).toMatch(/no snapshot/i);
    await psql(port, "INSERT INTO events (id, label) VALUES (1001, 'T1')");
    await sleep(1100);
    await psql(port, "INSERT INTO events (id, label) VALUES (1002, 'T2')");
    await sleep(1100);
    const between = new Date().toISOString();
    await sleep(1100);
    await psql(port, "INSERT INTO events (id, label) VALUES (1003, 'T3')");
    times = { afterT2: between, beforeT3: between };
    const switched = await psql(port, 'SELECT pg_walfile_name(pg_switch_wal())');
    await waitArchived(switched);
  }, 120_000);

  it('recovers to a time between T2 and T3: T1 and T2 are there, T3 is not; the copy does not archive', async () => {
    const dir = join(work, 'to-time');
    const { r, port: p } = await recover(dir, ['--to-time', times.afterT2]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as { started: boolean; stoppedAt: string; timeline: number; walFilesRestored: number };
    expect(out.started).toBe(true);
    expect(out.stoppedAt).toMatch(/^before commit of transaction \d+/);
    expect(out.timeline).toBe(2);
    expect(out.walFilesRestored).toBeGreaterThan(0);
    expect(await psql(p, "SELECT string_agg(label, ',' ORDER BY id) FROM events WHERE id > 1000")).toBe('T1,T2');
    expect(await psql(p, 'SELECT count(*) FROM events')).toBe('1002');
    expect(await psql(p, 'SELECT pg_is_in_recovery()')).toBe('f');
    expect(await psql(p, 'SHOW archive_mode')).toBe('off');
    // The recovery settings and the credentials file are gone once it finished.
    expect(await readFile(join(dir, 'postgresql.auto.conf'), 'utf8')).not.toMatch(/restore_command|recovery_target_time/);
    expect((await readdir(dir)).filter((f) => f.includes('wal-fetch'))).toEqual([]);
  }, 200_000);

  it('recovers everything archived with --latest: T3 is there too', async () => {
    const { r, port: p } = await recover(join(work, 'latest'), ['--latest']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(await psql(p, "SELECT string_agg(label, ',' ORDER BY id) FROM events WHERE id > 1000")).toBe('T1,T2,T3');
  }, 200_000);

  it('recovers one database into another server at a time between T2 and T3, validated, leaving no scratch cluster behind', async () => {
    const opened = openBlobStore(repositoryLocation({}, env));
    const repo = await Repository.open(opened.store, { passphrase: env.LIFEBOAT_PASSWORD! });
    // The scratch directory's parent must be reachable by the postgres OS user (work is 0700).
    const parent = await mkdtemp(join(tmpdir(), 'lifeboat-pitr-parent-'));
    await chmod(parent, 0o755);
    try {
      const wal = await new WalArchive(repo.store, repo.masterKey, systemId).list();
      const target = { kind: 'time' as const, time: new Date(times.afterT2) };
      const base = chooseBaseBackup(target, baseBackupsIn(await repo.listSnapshots()), wal);
      const phases: string[] = [];
      const opts = {
        ...intoBare(repo, wal, parent),
        target,
        targetDatabase: 'events_at_t2',
        smokeQueries: ["SELECT 1 FROM events WHERE label = 'T2'", "SELECT 1 FROM events WHERE label = 'T3'"],
        onProgress: (p: { phase: string }) => void (phases.at(-1) !== p.phase && phases.push(p.phase)),
      };
      const r = await recoverToDatabase(repo, base, opts);
      expect(r.stoppedAt).toMatch(/^before commit of transaction \d+/);
      expect(r.walFilesRestored).toBeGreaterThan(0);
      expect(r.copy.validation).toMatchObject({ ok: true, tablesChecked: 1 });
      // The T3 smoke query finds nothing: the copy is of the moment before T3.
      expect(r.copy.smoke.map((x) => x.ok)).toEqual([true, false]);
      expect(r.copy.ok).toBe(false);
      expect(phases).toEqual(expect.arrayContaining(['restore', 'recover', 'copy', 'validate', 'smoke']));
      const onBare = async (sql: string) => {
        const out = await run(pgTool('psql'), ['-X', '-At', '-h', '127.0.0.1', '-p', String(barePort), '-U', 'postgres', '-d', 'events_at_t2', '-c', sql]);
        return out.stdout.trim();
      };
      expect(await onBare("SELECT string_agg(label, ',' ORDER BY id) FROM events WHERE id > 1000")).toBe('T1,T2');
      expect(await onBare('SELECT count(*) FROM events')).toBe('1002');
      expect(await readdir(parent)).toEqual([]);

      // The same name again is refused before any recovery starts; nothing is left on either side.
      const t0 = Date.now();
      await expect(recoverToDatabase(repo, base, opts)).rejects.toThrow(/database events_at_t2 already exists on postgres@127\.0\.0\.1:\d+\/events_at_t2/);
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(await readdir(parent)).toEqual([]);
      expect(await psql(barePort, "SELECT count(*) FROM pg_database WHERE datname LIKE 'lifeboat_restore_%'")).toBe('0');
    } finally {
      opened.close();
      await rm(parent, { recursive: true, force: true });
    }
  }, 200_000);

  it('shows the recovery window and the achieved RPO', async () => {
    const s = await lifeboatJson<{ systems: { systemId: string; rpoSeconds: number; window: { from: string; to: string }; baseBackups: { walThrough: string | null }[]; gapAfter: string | null }[] }>(['--json', 'database', 'wal-status'], env);
    expect(s.systems).toHaveLength(1);
    const sys = s.systems[0]!;
    expect(sys.systemId).toBe(systemId);
    expect(sys.rpoSeconds).toBeLessThan(300);
    expect(Date.parse(sys.window.from)).toBeLessThan(Date.parse(times.afterT2));
    expect(Date.parse(sys.window.to)).toBeGreaterThan(Date.parse(times.afterT2));
    expect(sys.baseBackups[0]!.walThrough).not.toBeNull();
    expect(sys.gapAfter).toBeNull();
    const text = await lifeboat(['database', 'wal-status'], env);
    expect(text.stdout).toMatch(/recoverable to any time from \S+ to about \S+/);
  });

  it('refuses targets outside the window and a non-empty data directory, changing nothing', async () => {
    const early = await recover(join(work, 'too-early'), ['--to-time', '2020-01-01T00:00:00Z']);
    expect(early.r.code).toBe(2);
    expect(early.r.stderr).toMatch(/no base backup can recover to time 2020-01-01T00:00:00\.000Z/);
    const late = await recover(join(work, 'too-late'), ['--to-time', new Date(Date.now() + 3600_000).toISOString()]);
    expect(late.r.code).toBe(2);
    expect(late.r.stderr).toMatch(/after the end of the archived WAL/);
    const busy = join(work, 'busy');
    await mkdir(busy);
    await writeFile(join(busy, 'keep.txt'), 'mine');
    const full = await recover(busy, ['--latest']);
    expect(full.r.code).toBe(1);
    expect(full.r.stderr).toMatch(/is not empty/);
    expect(await readFile(join(busy, 'keep.txt'), 'utf8')).toBe('mine');
    const none = await lifeboat(['database', 'recover', '--data-dir', join(work, 'x'), '--latest', '--to-lsn', '0/1'], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/exactly one recovery target/);
  }, 120_000);

  it('wal-fetch: exit 1 for a file not archived, 126 (PostgreSQL aborts recovery) for a damaged one; recovery then fails loudly', async () => {
    const dest = join(work, 'fetched');
    const missing = await lifeboat(['wal-fetch', '--system-id', systemId, '0000000100000000000000FF', dest], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not in the archive/);
    // Damage the first segment every recovery needs: the base backup's start segment.
    const listing: string[] = [];
    for await (const e of admin.list(`${prefix}/wal/${systemId}/`)) listing.push(e.key.slice(e.key.lastIndexOf('/') + 1));
    const snaps = await lifeboatJson<{ id: string }[]>(['--json', 'snapshots'], env);
    expect(snaps).toHaveLength(1);
    const status = await lifeboatJson<{ systems: { baseBackups: { startWal: string }[] }[] }>(['--json', 'database', 'wal-status'], env);
    const startWal = status.systems[0]!.baseBackups[0]!.startWal;
    expect(listing).toContain(startWal);
    const key = `${prefix}/wal/${systemId}/${startWal}`;
    const box = await getBuffer(admin, key);
    box[box.length - 1]! ^= 0x40;
    await admin.put(key, () => box);
    const damaged = await lifeboat(['wal-fetch', '--system-id', systemId, startWal, dest], env);
    expect(damaged.code).toBe(126);
    expect(damaged.stderr).toMatch(/authentication failed/);
    expect(existsSync(dest)).toBe(false);
    const dir = join(work, 'damaged');
    const { r } = await recover(dir, ['--latest']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/recovery into .* failed: .*FATAL/);
    expect(existsSync(dir)).toBe(false);
  }, 200_000);

  it('base-backup names what a role without REPLICATION lacks, saving nothing', async () => {
    await psql(port, "CREATE ROLE plain LOGIN PASSWORD 'plain-pw'");
    try {
      const r = await lifeboat(['database', 'base-backup', '--host', '127.0.0.1', '--port', String(port), '--user', 'plain'], { ...env, PGPASSWORD: 'plain-pw' }, { timeoutMs: 120_000 });
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toMatch(/cannot connect to PostgreSQL as plain@127\.0\.0\.1:\d+\/postgres: .*replication.* \(a base backup needs a role with the REPLICATION attribute and a "replication" line in pg_hba\.conf\)/);
      expect(await lifeboatJson<unknown[]>(['--json', 'snapshots'], env)).toHaveLength(1);
    } finally {
      await psql(port, 'DROP ROLE plain');
    }
  }, 120_000);

  it('base-backup stops at once on Ctrl-C (at --max-rate 32k), saving nothing and ending the server side', async () => {
    const child = spawn(process.execPath, [CLI, 'database', 'base-backup', '--host', '127.0.0.1', '--port', String(port), '--user', 'postgres', '--max-rate', '32k'], {
      env: { ...cleanEnv(env) } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Wait until the server is streaming the backup, then interrupt.
    for (let i = 0; i < 100 && (await psql(port, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'")) === '0'; i++) await sleep(100);
    await sleep(500);
    const stopped = Date.now();
    child.kill('SIGINT');
    const code = await exited;
    expect(code, stderr).not.toBe(0);
    expect(Date.now() - stopped).toBeLessThan(10_000);
    expect(stderr).toMatch(/interrupted/);
    expect(await lifeboatJson<unknown[]>(['--json', 'snapshots'], env)).toHaveLength(1);
    for (let i = 0; i < 50 && (await psql(port, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'")) !== '0'; i++) await sleep(100);
    expect(await psql(port, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'")).toBe('0');
  }, 120_000);

  it('base-backup fails at once when the server archives its WAL somewhere else', async () => {
    await psql(port, "ALTER SYSTEM SET archive_command = '/bin/true'");
    await psql(port, 'SELECT pg_reload_conf()');
    try {
      const started = Date.now();
      const r = await lifeboat(['database', 'base-backup', '--host', '127.0.0.1', '--port', String(port), '--user', 'postgres'], env, { timeoutMs: 120_000 });
      expect(r.code, r.stdout).toBe(1);
      expect(r.stderr).toMatch(/WAL segment [0-9A-F]{24}, which this base backup needs, is not in the repository's WAL archive .* although the server reports it archived: archive_command \(now: \/bin\/true\)/);
      expect(Date.now() - started).toBeLessThan(30_000); // not the minute it waits for a slow archive_command
      expect(await lifeboatJson<unknown[]>(['--json', 'snapshots'], env)).toHaveLength(1);
    } finally {
      await psql(port, 'ALTER SYSTEM RESET archive_command');
      await psql(port, 'SELECT pg_reload_conf()');
    }
  }, 120_000);

  // Last: it adds a restore point (the tests above count them).
  it('base-backs up a tablespace outside the data directory; recovers it where it is mapped, refusing its original location while in use', async () => {
    const location = join(work, 'tablespace');
    await mkdir(location);
    if (process.getuid?.() === 0) await chown(location, Number((await run('id', ['-u', 'postgres'])).stdout), Number((await run('id', ['-g', 'postgres'])).stdout));
    await psql(port, `CREATE TABLESPACE elsewhere LOCATION '${location}'`);
    await psql(port, 'CREATE TABLE far (id int PRIMARY KEY, label text) TABLESPACE elsewhere');
    await psql(port, "INSERT INTO far SELECT g, 'in the tablespace' FROM generate_series(1, 500) g");
    const oid = await psql(port, "SELECT oid FROM pg_tablespace WHERE spcname = 'elsewhere'");
    try {
      const b = await lifeboatJson<{ id: string; tablespaces?: { oid: string; location: string }[] }>(['--json', 'database', 'base-backup', '--host', '127.0.0.1', '--port', String(port), '--user', 'postgres'], env);
      expect(b.tablespaces).toEqual([{ oid, location }]);
      const verified = await lifeboatJson<{ ok: boolean }>(['--json', 'verify', '--test-restore', '--snapshot', b.id], env);
      expect(verified.ok).toBe(true);

      // Its original location holds the running original's files: refused before anything is written.
      const refusedDir = join(work, 'ts-refused');
      const refused = await recover(refusedDir, ['--latest', '--base-backup', b.id]);
      expect(refused.r.code, refused.r.stdout).not.toBe(0);
      expect(refused.r.stderr).toContain(`tablespace ${oid} goes to ${location} (its original location), which is not empty: restore it elsewhere with --tablespace-mapping ${location}=NEWDIR`);
      expect(existsSync(refusedDir)).toBe(false);
      const unknown = await recover(join(work, 'ts-unknown'), ['--latest', '--base-backup', b.id], ['--tablespace-mapping', `/nowhere=${join(work, 'x')}`]);
      expect(unknown.r.stderr).toContain(`--tablespace-mapping /nowhere: the base backup has no tablespace there (its tablespaces: ${location})`);

      const mapped = join(work, 'ts-mapped');
      const dir = join(work, 'ts-recovered');
      const { r, port: p } = await recover(dir, ['--latest', '--base-backup', b.id], ['--tablespace-mapping', `${location}=${mapped}`]);
      expect(r.code, r.stderr + r.stdout).toBe(0);
      expect((JSON.parse(r.stdout) as { tablespaces: unknown }).tablespaces).toEqual([{ oid, dir: mapped }]);
      expect(await readlink(join(dir, 'pg_tblspc', oid))).toBe(mapped);
      expect(await psql(p, "SELECT count(*) FROM far WHERE label = 'in the tablespace'")).toBe('500');
      expect(await psql(p, "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'elsewhere'")).toBe(mapped);
      expect(await psql(p, 'SELECT count(*) >= 1003 FROM events')).toBe('t'); // the rest of the cluster came back too

      // Into a staging server (the console's path): the scratch cluster takes the tablespace along.
      const opened = openBlobStore(repositoryLocation({}, env));
      const parent = await mkdtemp(join(tmpdir(), 'lifeboat-pitr-parent-'));
      await chmod(parent, 0o755);
      try {
        const repo = await Repository.open(opened.store, { passphrase: env.LIFEBOAT_PASSWORD! });
        const wal = await new WalArchive(repo.store, repo.masterKey, systemId).list();
        const base = baseBackupsIn(await repo.listSnapshots()).find((x) => x.id === b.id)!;
        const staged = await recoverToDatabase(repo, base, {
          ...intoBare(repo, wal, parent),
          target: { kind: 'latest' },
          targetDatabase: 'far_staged',
          smokeQueries: ["SELECT 1 FROM far WHERE id = 500"],
        });
        expect(staged.copy.ok).toBe(true);
        expect(await readdir(parent)).toEqual([]);
        expect(await readdir(location)).not.toEqual([]); // the original's tablespace, untouched
      } finally {
        opened.close();
        await rm(parent, { recursive: true, force: true });
      }

      // A logical dump of it restores into a server without that tablespace only with --no-tablespaces.
      const pg = (p2: number) => ({ ...env, PGHOST: '127.0.0.1', PGPORT: String(p2), PGUSER: 'postgres' });
      const dumped = await lifeboat(['database', 'backup', '--database', 'postgres', '--source-name', 'with-tablespace'], pg(port));
      expect(dumped.code, dumped.stderr).toBe(0);
      const kept = await lifeboat(['database', 'restore', '--target-database', 'far_kept'], pg(barePort));
      expect(kept.code).not.toBe(0);
      expect(kept.stderr).toMatch(/Tablespace "elsewhere" does not exist/);
      const moved = await lifeboat(['database', 'restore', '--target-database', 'far_moved', '--no-tablespaces'], pg(barePort));
      expect(moved.code, moved.stderr).toBe(0);
      expect(await psql(barePort, "SELECT count(*) FROM pg_database WHERE datname = 'far_kept'")).toBe('0');
    } finally {
      await psql(port, 'DROP TABLE far');
      await psql(port, 'DROP TABLESPACE elsewhere');
    }
  }, 300_000);
});

// `lifeboat database backup | restore` and the `database` runbook wrappers as a user runs them: real
// `node bin/lifeboat.mjs` and scripts/*.sh processes configured through the environment (PGHOST, PGPORT,
// PGUSER, LIFEBOAT_REPOSITORY...), a throwaway PostgreSQL cluster of the test's own (scripts/services,
// trust auth except for one password-protected role), a repository in a local directory, data checked with
// psql. No mocks.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgTool } from '../../lib/sources/postgres/connection';
import { ensurePostgres as ensurePostgresUntyped } from '../../scripts/services/postgres.mjs';
import { freePort } from '../../scripts/services/util.mjs';
import { cleanEnv, lifeboat, lifeboatJson, ROOT, run, utcDates, type Env } from './test-support';

type Cluster = { url: string; started: boolean; stop: () => Promise<void> };
const ensurePostgres = ensurePostgresUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void }) => Promise<Cluster>;

const { today } = utcDates();
const GUARDED_PASSWORD = 'pw-s3cr3t-Guarded-4711';
let work: string;
let server: Cluster | undefined;
let port: number;
let env: Env;

/** psql -At as postgres on `database`; returns stdout trimmed (throws on failure). */
async function psql(database: string, sql: string): Promise<string> {
  const r = await run(pgTool('psql'), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql], { env: cleanEnv({ PGPASSWORD: undefined }) });
  if (r.code !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A runbook wrapper with the test's environment (and `extra`), from the checkout. */
function script(name: string, args: string[], extra: Env = {}) {
  return run(join(ROOT, 'scripts', name), args, { env: cleanEnv({ ...env, ...extra }), cwd: ROOT });
}

const shopFingerprint = () => psql('shop', "SELECT (SELECT count(*) FROM customers) || '/' || (SELECT count(*) FROM orders) || '/' || (SELECT sum(amount) FROM orders) || '/' || (SELECT name FROM customers WHERE id = 7) || '/' || (SELECT count(*) FROM \"Audit\".log)");

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-cli-db-'));
  port = await freePort();
  server = await ensurePostgres({ dataDir: join(work, 'cluster'), port, log: () => {} });
  // Only what the test sets reaches the CLI: no PGDATABASE or PGPASSWORD from the runner's environment.
  env = { LIFEBOAT_REPOSITORY: join(work, 'repo'), LIFEBOAT_PASSWORD: 'db test password', PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: undefined, PGPASSWORD: undefined, PGSSLMODE: undefined };
  await lifeboatJson(['--json', 'init'], env);
  await psql('postgres', 'CREATE DATABASE shop');
  await psql('shop', `
    CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, joined timestamptz NOT NULL);
    CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, amount numeric(10,2));
    CREATE SCHEMA "Audit";
    CREATE TABLE "Audit".log (at timestamptz, what text);
    INSERT INTO customers (name, joined) SELECT 'customer ' || g, timestamptz '2024-01-15 10:00+00' + g * interval '1 hour' FROM generate_series(1, 200) g;
    INSERT INTO orders (customer, amount) SELECT 1 + g % 200, (g % 97) * 3.5 FROM generate_series(1, 2000) g;
    INSERT INTO "Audit".log SELECT now(), 'event ' || g FROM generate_series(1, 30) g;
  `);
});

afterAll(async () => {
  await server?.stop().catch(() => {});
  await rm(work, { recursive: true, force: true });
});

describe('lifeboat database', () => {
  it('backs up with scripts/backup.sh, restores a dropped database with scripts/restore.sh --backup-date, refuses an existing target without --overwrite', async () => {
    const before = await shopFingerprint();
    const backup = await script('backup.sh', ['database', '--database', 'shop', '--source-name', 'shop-db', '--full']);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/^snapshot [0-9a-f]{8} saved \(source shop-db, PostgreSQL \d+\.\d+.*\): 1 database \(shop\)\n/);
    expect(backup.stdout).toContain('  shop: ');
    expect(backup.stdout).toContain('3 tables, 2230 rows (checksum manifest)');

    await psql('postgres', 'DROP DATABASE shop');
    const restored = await script('restore.sh', ['database', '--backup-date', today, '--source-name', 'shop-db', '--target-database', 'shop']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(new RegExp(`^restored database shop of snapshot [0-9a-f]{8} \\(.*, source shop-db\\) into postgres@127\\.0\\.0\\.1:${port}/shop in `));
    expect(restored.stdout).toContain("validation: ok, 3 tables match the backup's row counts and checksums");
    expect(await shopFingerprint()).toBe(before);

    // The target exists now: refused (exit 2, nothing touched) until --overwrite, which puts the backup back.
    await psql('shop', 'DELETE FROM orders WHERE id > 1000');
    const refused = await script('restore.sh', ['database', '--backup-date', today, '--source-name', 'shop-db', '--target-database', 'shop']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`lifeboat: database shop already exists on postgres@127.0.0.1:${port}/shop: choose another --target-database, or pass --overwrite to replace it (it is dropped only after the restore succeeded)\n`);
    expect(await psql('shop', 'SELECT count(*) FROM orders')).toBe('1000');
    const replaced = await script('restore.sh', ['database', '--backup-date', today, '--source-name', 'shop-db', '--database', 'shop', '--target-database', 'shop', '--overwrite', '--jobs', '2']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain('2 jobs; replaced the existing database');
    expect(await shopFingerprint()).toBe(before);
  });

  it('--json: a backup of all databases with globals, and a restore with its validation and smoke results (a failing smoke query exits 1)', async () => {
    const summary = await lifeboatJson(['--json', 'database', 'backup'], env); // no --database, no PGDATABASE: all
    expect(summary).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      source: { kind: 'postgres', name: 'database' },
      server: expect.stringMatching(/^\d+\.\d+/),
      pgDump: expect.stringContaining('pg_dump (PostgreSQL)'),
      globals: { file: 'postgres/globals.sql', bytes: expect.any(Number) },
      housekeeping: { abortedUploads: 0, leftoverPacks: 0 },
    });
    expect(Object.keys(summary).sort()).toEqual(['addedBytes', 'bytes', 'databases', 'globals', 'hostname', 'housekeeping', 'id', 'newBlobs', 'pgDump', 'seconds', 'server', 'source', 'tags', 'time']);
    expect(summary.databases).toContainEqual({ name: 'shop', bytes: expect.any(Number), manifest: 'checksum', tables: 3, rows: 2230 });
    expect(summary.databases.map((d: { name: string }) => d.name)).toEqual(expect.arrayContaining(['postgres', 'lifeboat', 'shop']));
    expect(summary.bytes).toBeGreaterThan(summary.databases.find((d: { name: string }) => d.name === 'shop').bytes);

    const listed = await lifeboat(['snapshots'], env);
    expect(listed.stdout).toContain(`${summary.id.slice(0, 8)}  `);
    expect(listed.stdout).toContain('postgres:database');

    const choose = await lifeboat(['database', 'restore', '--source-name', 'database', '--target-database', 'anything'], env);
    expect(choose.code).toBe(2);
    expect(choose.stderr).toMatch(/holds \d+ databases \(.*shop.*\): choose one with --database\n$/);

    const smoke = ['SELECT 1 FROM customers WHERE id = 1', 'SELECT 1 FROM orders WHERE amount < 0'];
    const r = await lifeboat(['--json', 'database', 'restore', summary.id.slice(0, 12), '--database', 'shop', '--target-database', 'shop_smoke', '--smoke', smoke[0]!, '--smoke', smoke[1]!], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('lifeboat: database shop_smoke was restored but 1 smoke query(ies) failed (see above)\n');
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      snapshot: summary.id,
      source: { kind: 'postgres', name: 'database' },
      server: `postgres@127.0.0.1:${port}/shop_smoke`,
      sourceDatabase: 'shop',
      targetDatabase: 'shop_smoke',
      replacedExisting: false,
      parallelJobs: 1,
      globals: { applied: false, errors: [] },
      validation: { ok: true, tablesChecked: 3, mismatches: [], extraTables: [] },
      smoke: [
        { query: smoke[0], ok: true, rows: 1 },
        { query: smoke[1], ok: false, rows: 0, error: 'returned no rows' },
      ],
      ok: false,
    });
    expect(out).not.toHaveProperty('snapshotId');
    expect(await psql('shop_smoke', 'SELECT count(*) FROM orders')).toBe('2000');

    // The same as human lines, over the copy just made.
    const human = await lifeboat(['database', 'restore', summary.id, '--database', 'shop', '--target-database', 'shop_smoke', '--overwrite', '--smoke', smoke[0]!], env);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(`smoke ok: ${smoke[0]} (1 row)`);
  });

  it('fails clearly: a database that does not exist (exit 1, no restore point), bad options (exit 2), no matching restore point (exit 1)', async () => {
    const count = (await lifeboatJson<unknown[]>(['--json', 'snapshots'], env)).length;
    const missing = await lifeboat(['database', 'backup', '--database', 'no_such_db'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`lifeboat: cannot connect to PostgreSQL as postgres@127.0.0.1:${port}/no_such_db: database "no_such_db" does not exist\n`);
    expect(await lifeboatJson<unknown[]>(['--json', 'snapshots'], env)).toHaveLength(count);

    const notInSnapshot = await lifeboat(['database', 'restore', '--source-name', 'shop-db', '--database', 'nope', '--target-database', 'x'], env);
    expect(notInSnapshot.code).toBe(2);
    expect(notInSnapshot.stderr).toMatch(/^lifeboat: snapshot [0-9a-f]{8} \(.*, source shop-db\) holds no database "nope"; it holds: shop\n$/);

    const usage: [string[], string][] = [
      [['database', 'backup', '--manifest', 'sha256'], '--manifest must be one of checksum, count, none, got "sha256"'],
      [['database', 'backup', '--port', 'fivefourthreetwo'], '--port must be a TCP port (1-65535), got "fivefourthreetwo"'],
      [['database', 'restore', '--backup-date', today], "required option '--target-database <name>' not specified"],
      [['database', 'restore', '--target-database', 'x', '--jobs', '0'], '--jobs must be a whole number of at least 1, got "0"'],
    ];
    for (const [args, message] of usage) {
      const r = await lifeboat(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const old = await script('restore.sh', ['database', '--backup-date', '2024-01-15', '--target-database', 'x']);
    expect(old.code).toBe(1);
    expect(old.stderr).toContain('no snapshot matches "2024-01-15" (filtered by source postgres');
  });

  it('takes the database password from --db-password-file, LIFEBOAT_DB_PASSWORD_FILE or PGPASSWORD and never prints it', async () => {
    await psql('postgres', `CREATE ROLE lb_guarded LOGIN CREATEDB PASSWORD '${GUARDED_PASSWORD}'; GRANT pg_read_all_data TO lb_guarded`);
    const hba = join(work, 'cluster', 'data', 'pg_hba.conf');
    await writeFile(hba, `host all lb_guarded 127.0.0.1/32 scram-sha-256\n${await readFile(hba, 'utf8')}`);
    await psql('postgres', 'SELECT pg_reload_conf()');
    const guarded = { ...env, PGUSER: 'lb_guarded' };
    const noSecret = (r: { stdout: string; stderr: string }) => {
      expect(r.stdout + r.stderr).not.toContain(GUARDED_PASSWORD);
      expect(r.stdout + r.stderr).not.toContain('wrong-pw-9876');
    };

    const wrong = await lifeboat(['database', 'backup', '--database', 'shop'], { ...guarded, PGPASSWORD: 'wrong-pw-9876' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`lifeboat: cannot connect to PostgreSQL as lb_guarded@127.0.0.1:${port}/shop: password authentication failed for user "lb_guarded"\n`);
    noSecret(wrong);

    const file = join(work, 'db-password');
    await writeFile(file, `${GUARDED_PASSWORD}\n`, { mode: 0o600 });
    const viaOption = await lifeboat(['--json', 'database', 'backup', '--database', 'shop', '--source-name', 'guarded', '--db-password-file', file], { ...guarded, PGPASSWORD: 'wrong-pw-9876' });
    expect(viaOption.code, viaOption.stderr).toBe(0);
    expect(JSON.parse(viaOption.stdout)).toMatchObject({ source: { name: 'guarded' }, databases: [{ name: 'shop', tables: 3, rows: 2230 }] });
    noSecret(viaOption);

    const viaEnv = await lifeboat(['database', 'restore', '--source-name', 'guarded', '--target-database', 'guarded_copy', '--no-owner'], { ...guarded, LIFEBOAT_DB_PASSWORD_FILE: file });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout).toContain(`into lb_guarded@127.0.0.1:${port}/guarded_copy`);
    noSecret(viaEnv);
    expect(await psql('guarded_copy', "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'")).toBe('lb_guarded');

    const viaPgPassword = await lifeboat(['database', 'backup', '--database', 'shop', '--source-name', 'guarded', '--manifest', 'count'], { ...guarded, PGPASSWORD: GUARDED_PASSWORD });
    expect(viaPgPassword.code, viaPgPassword.stderr).toBe(0);
    expect(viaPgPassword.stdout).toContain('3 tables, 2230 rows (count manifest)');
    noSecret(viaPgPassword);

    const unreadable = await lifeboat(['database', 'backup'], { ...guarded, LIFEBOAT_DB_PASSWORD_FILE: join(work, 'no-such-file') });
    expect(unreadable.code).toBe(2);
    expect(unreadable.stderr).toContain(`cannot read the database password file ${join(work, 'no-such-file')}: ENOENT`);
  });
});

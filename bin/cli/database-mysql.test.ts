// `lifeboat database backup --engine mysql | restore` and the `database` runbook wrappers against MariaDB as a
// user runs them: real `node bin/lifeboat.mjs` and scripts/*.sh processes configured through the environment
// (MYSQL_HOST, MYSQL_TCP_PORT, USER, LIFEBOAT_DB_PASSWORD_FILE...), a throwaway MariaDB server of the test's own
// (scripts/services/mariadb.mjs, binary log off), a password-protected backup user with ordinary privileges,
// a repository in a local directory. Data checked as root over mysql2. No mocks.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMariadb as ensureMariadbUntyped } from '../../scripts/services/mariadb.mjs';
import { freePort } from '../../scripts/services/util.mjs';
import { cleanEnv, lifeboat, lifeboatJson, ROOT, run, utcDates, type Env, type RunResult } from './test-support';

type Server = { host: string; port: number; socket: string; stop: () => Promise<void> };
const ensureMariadb = ensureMariadbUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; binlog?: boolean }) => Promise<Server>;

const { today } = utcDates();
const GUARDED_PASSWORD = 'my-s3cr3t-Guarded-4711';
let work: string;
let server: Server | undefined;
let port: number;
let env: Env;
let passwordFile: string;

/** SQL as root (multi-statement); the last result set. */
async function sql<T = Record<string, unknown>>(text: string, database?: string): Promise<T[]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database, multipleStatements: true, charset: 'utf8mb4', bigNumberStrings: true, supportBigNumbers: true });
  try {
    const [res] = await c.query(text);
    return (Array.isArray(res) && Array.isArray(res[res.length - 1]) ? res[res.length - 1] : res) as T[];
  } finally {
    await c.end();
  }
}

/** A runbook wrapper with the test's environment (and `extra`), from the checkout. */
function script(name: string, args: string[], extra: Env = {}) {
  return run(join(ROOT, 'scripts', name), args, { env: cleanEnv({ ...env, ...extra }), cwd: ROOT });
}

const noSecret = (r: RunResult) => {
  expect(r.stdout + r.stderr).not.toContain(GUARDED_PASSWORD);
  expect(r.stdout + r.stderr).not.toContain('wrong-pw-9876');
};

const fingerprint = async (db = 'shop') =>
  JSON.stringify(await sql(`SELECT (SELECT COUNT(*) FROM customers) AS c, (SELECT COUNT(*) FROM orders) AS o, (SELECT SUM(amount) FROM orders) AS a,
    (SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', id, name, IFNULL(note, '<null>'), HEX(photo)) ORDER BY id)) FROM customers) AS h, (SELECT COUNT(*) FROM audit) AS l`, db));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-cli-my-'));
  port = await freePort();
  server = await ensureMariadb({ dataDir: join(work, 'srv'), port, log: () => {}, binlog: false });
  await sql(`CREATE USER lb_backup@'127.0.0.1' IDENTIFIED BY '${GUARDED_PASSWORD}';
    GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, CREATE VIEW, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES,
          CREATE ROUTINE, ALTER ROUTINE, EXECUTE, REFERENCES, RELOAD, SHOW DATABASES ON *.* TO lb_backup@'127.0.0.1'`);
  passwordFile = join(work, 'db-password');
  await writeFile(passwordFile, `${GUARDED_PASSWORD}\n`, { mode: 0o600 });
  // Only what the test sets reaches the CLI: no MYSQL_PWD or socket from the runner's environment.
  env = {
    LIFEBOAT_REPOSITORY: join(work, 'repo'), LIFEBOAT_PASSWORD: 'db test password', LIFEBOAT_DB_PASSWORD_FILE: passwordFile,
    MYSQL_HOST: '127.0.0.1', MYSQL_TCP_PORT: String(port), USER: 'lb_backup', MYSQL_PWD: undefined, MYSQL_UNIX_PORT: undefined, PGDATABASE: undefined,
  };
  await lifeboatJson(['--json', 'init'], env);
  // The schema is made by the backup user itself (its objects' DEFINER), as an application would.
  const app = await mysql.createConnection({ host: '127.0.0.1', port, user: 'lb_backup', password: GUARDED_PASSWORD, multipleStatements: true, charset: 'utf8mb4' });
  await app.query(`CREATE DATABASE shop; USE shop;
    CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(80) NOT NULL, note TEXT NULL, photo BLOB);
    CREATE TABLE orders (id INT AUTO_INCREMENT PRIMARY KEY, customer INT, amount DECIMAL(10,2));
    CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(100));
    CREATE TRIGGER orders_ai AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (what) VALUES (CONCAT('order ', NEW.id));
    CREATE VIEW totals AS SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer;
    INSERT INTO customers (name, note, photo) SELECT CONCAT('customer ', seq, ' ☃'), IF(seq % 3 = 0, NULL, 'x'), UNHEX(MD5(seq)) FROM seq_1_to_200;
    INSERT INTO orders (customer, amount) SELECT 1 + seq % 200, (seq % 97) * 3.5 FROM seq_1_to_2000;`);
  await app.end();
}, 120_000);

afterAll(async () => {
  await server?.stop().catch(() => {});
  await rm(work, { recursive: true, force: true });
});

describe('lifeboat database --engine mysql', () => {
  it('backs up with scripts/backup.sh, restores a dropped database with scripts/restore.sh --backup-date, refuses an existing target without --overwrite', async () => {
    const before = await fingerprint();
    const backup = await script('backup.sh', ['database', '--engine', 'mariadb', '--database', 'shop', '--source-name', 'shop-db', '--full']);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toMatch(/^snapshot [0-9a-f]{8} saved \(source shop-db, 10\.\d+\.\d+-MariaDB\S*\): 1 database \(shop\)\n/);
    expect(backup.stdout).toContain('3 tables, 4200 rows (checksum manifest)\n'); // no binlog: none is named
    noSecret(backup);

    await sql('DROP DATABASE shop');
    const restored = await script('restore.sh', ['database', '--backup-date', today, '--source-name', 'shop-db', '--target-database', 'shop']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(new RegExp(`^restored database shop of snapshot [0-9a-f]{8} \\(.*, source shop-db\\) into lb_backup@127\\.0\\.0\\.1:${port}/shop in `));
    expect(restored.stdout).toContain("validation: ok, 3 tables match the backup's row counts and checksums");
    noSecret(restored);
    expect(await fingerprint()).toBe(before);
    await sql('INSERT INTO orders (customer, amount) VALUES (1, 1)', 'shop'); // the trigger came back with the table
    expect(await sql("SELECT COUNT(*) AS n, SUM(what LIKE 'order %') AS o FROM audit", 'shop')).toEqual([{ n: '2001', o: '2001' }]);

    // The target exists now: refused (exit 2, nothing touched) until --overwrite, which puts the backup back.
    const refused = await script('restore.sh', ['database', '--backup-date', today, '--source-name', 'shop-db', '--target-database', 'shop']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe(`lifeboat: database shop already exists on lb_backup@127.0.0.1:${port}/shop: choose another --target-database, or pass --overwrite to replace it (it is dropped only after the backup was restored into a scratch database)\n`);
    expect(await sql('SELECT COUNT(*) AS n FROM orders', 'shop')).toEqual([{ n: '2001' }]);
    const replaced = await script('restore.sh', ['database', '--engine', 'mysql', '--backup-date', today, '--target-database', 'shop', '--overwrite', '--smoke', 'SELECT * FROM totals LIMIT 3']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(replaced.stdout).toContain('; replaced the existing database)');
    expect(replaced.stdout).toContain('smoke ok: SELECT * FROM totals LIMIT 3 (3 rows)');
    expect(await fingerprint()).toBe(before);
    expect(await sql("SELECT COUNT(*) AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'lifeboat_restore_%'")).toEqual([{ n: '0' }]);
  }, 60_000);

  it('--json: a backup summary and a restore with its validation and smoke results (a failing smoke query exits 1); the engine follows the restore point', async () => {
    const summary = await lifeboatJson(['--json', 'database', 'backup', '--engine', 'mysql', '--database', 'shop', '--source-name', 'my'], env);
    expect(summary).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      source: { kind: 'mysql', name: 'my' },
      server: expect.stringMatching(/MariaDB/),
      dumpTool: expect.stringMatching(/mariadb-dump|mysqldump/),
      databases: [{ name: 'shop', bytes: expect.any(Number), manifest: 'checksum', tables: 3, rows: 4200, binlog: null }],
      housekeeping: { abortedUploads: 0, leftoverPacks: 0 },
    });
    expect(Object.keys(summary).sort()).toEqual(['addedBytes', 'bytes', 'databases', 'dumpTool', 'hostname', 'housekeeping', 'id', 'newBlobs', 'seconds', 'server', 'source', 'tags', 'time']);
    const listed = await lifeboat(['snapshots'], env);
    expect(listed.stdout).toContain('mysql:my');

    const smoke = ['SELECT 1 FROM customers WHERE id = 1', 'SELECT 1 FROM orders WHERE amount < 0'];
    const r = await lifeboat(['--json', 'database', 'restore', summary.id.slice(0, 12), '--target-database', 'shop_smoke', '--smoke', smoke[0]!, '--smoke', smoke[1]!], env);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe('lifeboat: database shop_smoke was restored but 1 smoke query(ies) failed (see above)\n');
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      snapshot: summary.id,
      source: { kind: 'mysql', name: 'my' },
      server: `lb_backup@127.0.0.1:${port}/shop_smoke`,
      sourceDatabase: 'shop',
      targetDatabase: 'shop_smoke',
      replacedExisting: false,
      validation: { ok: true, tablesChecked: 3, mismatches: [], extraTables: [] },
      smoke: [
        { query: smoke[0], ok: true, rows: 1 },
        { query: smoke[1], ok: false, rows: 0, error: 'returned no rows' },
      ],
      ok: false,
    });
    expect(out).not.toHaveProperty('snapshotId');
    expect(await sql('SELECT COUNT(*) AS n FROM orders', 'shop_smoke')).toEqual([{ n: '2000' }]);
    noSecret(r);

    // "latest" without --engine is this MySQL restore point; --engine postgres finds none; PostgreSQL-only options are refused.
    const pgOnly = await lifeboat(['database', 'restore', '--engine', 'postgres', '--target-database', 'x'], env);
    expect(pgOnly.code).toBe(1);
    expect(pgOnly.stderr).toMatch(/^lifeboat: no snapshot matches "latest" \(filtered by source postgres\/\*; \d+ snapshots in the repository, 0 after filtering\)\n$/);
    const jobs = await lifeboat(['database', 'restore', '--target-database', 'x', '--jobs', '2'], env);
    expect(jobs.code).toBe(2);
    expect(jobs.stderr).toBe('lifeboat: --jobs is for PostgreSQL only, not for MySQL/MariaDB\n');
  }, 60_000);

  it('fails clearly and never prints the password: wrong password, missing database (exit 1, no restore point), bad options (exit 2)', async () => {
    const count = (await lifeboatJson<unknown[]>(['--json', 'snapshots'], env)).length;
    const wrong = await lifeboat(['database', 'backup', '--engine', 'mysql', '--database', 'shop'], { ...env, LIFEBOAT_DB_PASSWORD_FILE: undefined, MYSQL_PWD: 'wrong-pw-9876' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(`lifeboat: cannot connect to MySQL/MariaDB as lb_backup@127.0.0.1:${port}/shop: Access denied for user 'lb_backup'@'127.0.0.1' (using password: YES)\n`);
    noSecret(wrong);

    const viaMysqlPwd = await lifeboat(['database', 'backup', '--engine', 'mysql', '--database', 'shop', '--manifest', 'count'], { ...env, LIFEBOAT_DB_PASSWORD_FILE: undefined, MYSQL_PWD: GUARDED_PASSWORD });
    expect(viaMysqlPwd.code, viaMysqlPwd.stderr).toBe(0);
    expect(viaMysqlPwd.stdout).toContain('3 tables, 4200 rows (count manifest)');
    noSecret(viaMysqlPwd);

    const missing = await lifeboat(['database', 'backup', '--engine', 'mysql', '--database', 'no_such_db', '--db-password-file', passwordFile], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`lifeboat: cannot connect to MySQL/MariaDB as lb_backup@127.0.0.1:${port}/no_such_db: Unknown database 'no_such_db'\n`);
    expect(await lifeboatJson<unknown[]>(['--json', 'snapshots'], env)).toHaveLength(count + 1);

    const usage: [string[], string][] = [
      [['database', 'backup', '--engine', 'oracle'], '--engine must be postgres, mysql or mariadb, got "oracle"'],
      [['database', 'backup', '--engine', 'mysql', '--globals'], '--globals/--no-globals is for PostgreSQL only, not for MySQL/MariaDB'],
      [['database', 'backup', '--engine', 'mysql', '--port', 'x3306'], '--port must be a TCP port (1-65535), got "x3306"'],
      [['database', 'backup', '--socket', '/run/x.sock'], '--socket is for MySQL/MariaDB (--engine mysql)'],
    ];
    for (const [args, message] of usage) {
      const r = await lifeboat(args, env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(message);
    }
    const badTarget = await lifeboat(['database', 'restore', '--target-database', 'mysql', '--source-name', 'my'], env);
    expect(badTarget.code).toBe(2);
    expect(badTarget.stderr).toBe('lifeboat: target database name mysql is not valid: it is a system database\n');
  }, 60_000);
});

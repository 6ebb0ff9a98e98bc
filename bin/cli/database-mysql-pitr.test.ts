// MySQL/MariaDB point-in-time restore as an operator runs it: a throwaway MariaDB server with the binary log
// on, a backup user with ordinary privileges plus RELOAD and BINLOG MONITOR / REPLICATION SLAVE, a dump
// (`database backup --engine mariadb`), rows written at T1, T2 and T3 afterwards, `database binlog-push`, then
// `database restore --to-time` a moment between T2 and T3 into a new database. Real `node bin/lifeboat.mjs`
// processes, a repository in a local directory; data checked as root over mysql2. No mocks.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureMariadb as ensureMariadbUntyped } from '../../scripts/services/mariadb.mjs';
import { freePort } from '../../scripts/services/util.mjs';
import { lifeboat, lifeboatJson, type Env } from './test-support';

type Server = { host: string; port: number; socket: string; stop: () => Promise<void> };
const ensureMariadb = ensureMariadbUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; binlog?: boolean }) => Promise<Server>;

const PASSWORD = 'binlog-Pw-7731-secret';
let work: string;
let server: Server | undefined;
let port: number;
let env: Env;
let moment: string;

async function sql<T = Record<string, unknown>>(text: string, database?: string): Promise<T[]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database, multipleStatements: true, bigNumberStrings: true, supportBigNumbers: true });
  try {
    const [res] = await c.query(text);
    return (Array.isArray(res) && Array.isArray(res[res.length - 1]) ? res[res.length - 1] : res) as T[];
  } finally {
    await c.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const labels = async (db: string) => (await sql<{ l: string | null }>("SELECT GROUP_CONCAT(label ORDER BY id) AS l FROM events WHERE id > 1000", db))[0]!.l;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-cli-mypitr-'));
  port = await freePort();
  server = await ensureMariadb({ dataDir: join(work, 'srv'), port, log: () => {}, binlog: true });
  await sql(`CREATE USER lb_backup@'127.0.0.1' IDENTIFIED BY '${PASSWORD}';
    GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, INDEX, ALTER, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, RELOAD, SHOW DATABASES,
          BINLOG MONITOR, REPLICATION SLAVE, BINLOG REPLAY ON *.* TO lb_backup@'127.0.0.1';
    CREATE DATABASE shop; USE shop;
    CREATE TABLE events (id INT PRIMARY KEY, label VARCHAR(40), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB;
    INSERT INTO events (id, label) SELECT seq, 'before the dump' FROM seq_1_to_1000;
    CREATE DATABASE other; CREATE TABLE other.noise (id INT PRIMARY KEY);`);
  const passwordFile = join(work, 'db-password');
  await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  env = {
    LIFEBOAT_REPOSITORY: join(work, 'repo'), LIFEBOAT_PASSWORD: 'binlog test password', LIFEBOAT_CACHE_DIR: 'off', LIFEBOAT_DB_PASSWORD_FILE: passwordFile,
    MYSQL_HOST: '127.0.0.1', MYSQL_TCP_PORT: String(port), USER: 'lb_backup', MYSQL_PWD: undefined, MYSQL_UNIX_PORT: undefined, PGDATABASE: undefined,
  };
  await lifeboatJson(['--json', 'init'], env);
}, 120_000);

afterAll(async () => {
  await server?.stop().catch(() => {});
  await rm(work, { recursive: true, force: true });
}, 60_000);

describe('MySQL/MariaDB binlog archiving and point-in-time restore', () => {
  it('dumps, archives the binlogs written after T1, T2 and T3, and restores to a moment between T2 and T3', async () => {
    const dump = await lifeboat(['database', 'backup', '--engine', 'mariadb', '--database', 'shop', '--source-name', 'shopdb'], env);
    expect(dump.code, dump.stderr).toBe(0);
    await sleep(1100);
    await sql("INSERT INTO events (id, label) VALUES (1001, 'T1')", 'shop');
    await sql('INSERT INTO noise VALUES (1)', 'other');
    // T2 as a row event (BINLOG statements), T1 and T3 as statements: both kinds are replayed and renamed.
    await sql("SET SESSION binlog_format = 'ROW'; INSERT INTO events (id, label) VALUES (1002, 'T2')", 'shop');
    await sleep(1600);
    moment = new Date(Math.floor(Date.now() / 1000) * 1000 - 1000).toISOString();
    await sleep(1600);
    await sql("INSERT INTO events (id, label) VALUES (1003, 'T3'); UPDATE events SET label = 'changed at T3' WHERE id = 5;", 'shop');
    await sleep(1100);
    const afterT3 = new Date().toISOString();

    // Before any binlog is archived, the restore says what is missing and creates nothing.
    const early = await lifeboat(['database', 'restore', '--to-time', moment, '--target-database', 'shop_never'], env);
    expect(early.code).toBe(2);
    expect(early.stderr).toMatch(/binlog archive does not hold binlog\.\d+/);
    expect(await sql("SHOW DATABASES LIKE 'shop_never'")).toEqual([]);

    const push = await lifeboatJson<{ pushed: { name: string; bytes: number }[]; current: string; newest: { name: string } }>(['--json', 'database', 'binlog-push', '--source-name', 'shopdb'], env);
    expect(push.pushed.length).toBeGreaterThanOrEqual(1);
    expect(push.newest.name).toBe(push.pushed[push.pushed.length - 1]!.name);
    expect(push.current > push.newest.name).toBe(true);
    const again = await lifeboatJson<{ pushed: unknown[]; alreadyArchived: number }>(['--json', 'database', 'binlog-push', '--source-name', 'shopdb', '--no-flush'], env);
    expect(again.pushed).toEqual([]);
    expect(again.alreadyArchived).toBeGreaterThanOrEqual(push.pushed.length);

    const r = await lifeboat(['database', 'restore', '--to-time', moment, '--target-database', 'shop_at_t2', '--smoke', "SELECT 1 FROM events WHERE label = 'T2'"], env);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(/replayed \d+ archived binlog file\(s\)/);
    expect(r.stdout).toMatch(/validation: ok/);
    expect(r.stdout).toMatch(/smoke ok/);
    expect(await labels('shop_at_t2')).toBe('T1,T2');
    expect((await sql<{ l: string }>('SELECT label AS l FROM events WHERE id = 5', 'shop_at_t2'))[0]!.l).toBe('before the dump');
    expect((await sql<{ n: string }>('SELECT COUNT(*) AS n FROM events', 'shop_at_t2'))[0]!.n).toBe('1002');
    // Events of other databases are not replayed, into the copy or anywhere else.
    expect((await sql<{ n: string }>('SELECT COUNT(*) AS n FROM other.noise'))[0]!.n).toBe('1');
    expect(await labels('shop')).toBe('T1,T2,T3');

    // A moment after T3 (the archive reaches it): T3 is there too.
    const latest = await lifeboat(['database', 'restore', '--to-time', afterT3, '--target-database', 'shop_now'], env);
    expect(latest.code, latest.stderr).toBe(0);
    expect(await labels('shop_now')).toBe('T1,T2,T3');
  }, 180_000);

  it('refuses a moment the archive does not reach, one before every dump, and --overwrite, creating nothing', async () => {
    await sleep(1100);
    const late = await lifeboat(['database', 'restore', '--to-time', new Date(Date.now() + 3600_000).toISOString(), '--target-database', 'shop_later'], env);
    expect(late.code).toBe(2);
    expect(late.stderr).toMatch(/reaches only to about .*binlog-push/);
    const before = await lifeboat(['database', 'restore', '--to-time', '2001-01-01T00:00:00Z', '--target-database', 'shop_old'], env);
    expect(before.code).toBe(2);
    expect(before.stderr).toMatch(/no MySQL\/MariaDB dump was taken before 2001-01-01T00:00:00\.000Z/);
    const over = await lifeboat(['database', 'restore', '--to-time', moment, '--target-database', 'shop_at_t2', '--overwrite'], env);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/cannot be combined with --overwrite/);
    expect(await sql("SHOW DATABASES WHERE `Database` IN ('shop_later', 'shop_old')")).toEqual([]);
  }, 60_000);
});

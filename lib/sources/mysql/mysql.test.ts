// MySQL/MariaDB logical backup and restore end to end: a throwaway MariaDB server of its own
// (scripts/services/mariadb.mjs: mariadb-install-db in a temp dir, 127.0.0.1 on a free port, binary log on),
// real mariadb-dump/mariadb, a real repository on a local directory. No mocks.
import { mkdir, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { checkRepository } from '../../repo/check';
import { Repository } from '../../repo/repository';
import { restoreTree } from '../filesystem/restorer';
import { describeMismatches } from '../postgres/manifest';
import { ensureMariadb as ensureMariadbUntyped } from '../../../scripts/services/mariadb.mjs';
import { freePort } from '../../../scripts/services/util.mjs';
import {
  MysqlConnectionError, MysqlRestoreError, MysqlToolError, backupMysqlLogical, mysqlDatabasesIn, restoreMysqlLogical, validateRestoredDatabase,
  type MysqlBackupRepo, type MysqlConnection,
} from '.';
import { renameDatabaseStatements } from './restore';

type Server = { host: string; port: number; socket: string; stop: () => Promise<void> };
const ensureMariadb = ensureMariadbUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void }) => Promise<Server>;
const fastKdf = { kdf: { N: 1024 } };
const source = { kind: 'mysql' as const, name: 'shop-db' };
const GUARDED = 'pw-Guarded-"quote\\slash-7';
let work: string;
let server: Server | undefined;
let port: number;
let conn: (database: string) => MysqlConnection;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-my-test-'));
  port = await freePort();
  server = await ensureMariadb({ dataDir: join(work, 'srv'), port, log: () => {} });
  conn = (database) => ({ host: '127.0.0.1', port, user: 'root', database });
}, 120_000);

afterAll(async () => {
  await server?.stop().catch(() => {});
  await rm(work, { recursive: true, force: true });
});

async function sql<T = Record<string, unknown>>(database: string | null, text: string, params: unknown[] = []): Promise<T[]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: database ?? undefined, multipleStatements: true, charset: 'utf8mb4', dateStrings: true, supportBigNumbers: true, bigNumberStrings: true });
  try {
    const [res] = await c.query(text, params);
    const last = Array.isArray(res) && Array.isArray(res[res.length - 1]) ? res[res.length - 1] : res;
    return last as T[];
  } finally {
    await c.end();
  }
}

async function freshRepo(): Promise<Repository> {
  const dir = await mkdtemp(join(work, 'repo-'));
  return Repository.init(new LocalBlobStore(dir, { fsync: false }), { passphrase: 'pw' }, fastKdf);
}

/** An independent fingerprint of the shop data (not the manifest's algorithm). */
async function fingerprint(database: string) {
  return sql(database, `SET SESSION group_concat_max_len = 1 << 30, time_zone = '+00:00';
    SELECT (SELECT MD5(GROUP_CONCAT(CONCAT_WS('|', id, name, created, ts, balance, score, IFNULL(nothing, '<null>'), IFNULL(HEX(avatar), '<null>'), HEX(flags), doc) ORDER BY id SEPARATOR '\\n')) FROM customers) AS customers,
           (SELECT COUNT(*) FROM orders) AS orders, (SELECT SUM(amount) FROM orders) AS amount,
           (SELECT COUNT(*) FROM \`odd \`\`name\`) AS odd, (SELECT COUNT(*) FROM legacy_myisam) AS legacy, (SELECT COUNT(*) FROM empty_one) AS empty`);
}

/** Sessions of the server other than the caller's (lifeboat's must all be gone after a backup). */
async function otherSessions(): Promise<number> {
  const rows = await sql<{ n: string }>(null, "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND <> 'Daemon' AND USER NOT IN ('system user', 'event_scheduler')");
  return Number(rows[0]!.n);
}

describe('single database', () => {
  beforeAll(async () => {
    await sql(null, `CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await sql('shop', `
      CREATE TABLE customers (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, created DATETIME(3) NOT NULL, ts TIMESTAMP NULL,
                              balance DECIMAL(12,2), score DOUBLE, nothing TEXT NULL, avatar BLOB NULL, flags BIT(8), doc JSON) ENGINE=InnoDB;
      CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, customer INT, amount DECIMAL(10,2), at DATE, FOREIGN KEY (customer) REFERENCES customers(id)) ENGINE=InnoDB;
      CREATE TABLE log (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(200)) ENGINE=InnoDB;
      CREATE TABLE \`odd \`\`name\` (t VARCHAR(20), r INT);
      CREATE TABLE legacy_myisam (v INT) ENGINE=MyISAM;
      CREATE TABLE empty_one (v INT);
      CREATE VIEW big_spenders AS SELECT customer, SUM(amount) AS total FROM orders GROUP BY customer HAVING SUM(amount) > 500;
      CREATE TRIGGER customers_ai AFTER INSERT ON customers FOR EACH ROW INSERT INTO log (msg) VALUES (CONCAT('new customer ', NEW.id));
      CREATE FUNCTION twice(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;
      CREATE PROCEDURE order_count() SELECT COUNT(*) AS n FROM orders;
      CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY STARTS '2037-01-01 00:00:00' DO DELETE FROM log;
      INSERT INTO customers (name, created, ts, balance, score, nothing, avatar, flags, doc)
        SELECT CONCAT('customer ', seq, IF(seq % 3 = 0, ' Zoë 😀 ж', '')), '2024-01-15 10:00:00.123' + INTERVAL seq HOUR, IF(seq % 5 = 0, NULL, '2024-02-01 00:00:00' + INTERVAL seq MINUTE),
               seq * 1.25, seq / 3, IF(seq % 2 = 0, NULL, IF(seq % 7 = 0, '', CONCAT('it''s "quoted" ', seq))), IF(seq % 4 = 0, NULL, UNHEX(MD5(seq))), seq % 256,
               JSON_OBJECT('n', seq, 'tab', 'a\tb')
        FROM seq_1_to_500;
      INSERT INTO orders (customer, amount, at) SELECT 1 + seq % 500, (seq % 97) * 3.5, '2024-01-01' + INTERVAL (seq % 300) DAY FROM seq_1_to_5000;
      INSERT INTO \`odd \`\`name\` SELECT CONCAT('row ', seq), seq FROM seq_1_to_50;
      INSERT INTO legacy_myisam SELECT seq FROM seq_1_to_10;
    `);
  });

  it('backs up, is dropped, restores into a new name with views, triggers, routines and events, validates; a tampered copy is caught', async () => {
    const repo = await freshRepo();
    const before = await fingerprint('shop');
    const seen: number[] = [];
    const tempDir = join(work, 'backup-temp');
    await mkdir(tempDir);
    const { snapshotId, snapshot, meta } = await backupMysqlLogical(repo, { source, connection: conn('shop'), tempDir, onProgress: (p) => seen.push(p.bytesDone) });

    expect(snapshot.source).toEqual(source);
    expect(snapshot.paths).toEqual(['/mysql/shop.sql']);
    expect(meta.server).toMatch(/MariaDB/);
    expect(meta.dumpTool).toMatch(/mariadb-dump|mysqldump/);
    const [db] = meta.databases;
    expect(db).toMatchObject({ name: 'shop', charset: 'utf8mb4', collation: 'utf8mb4_unicode_ci', manifest: 'checksum', consistency: 'locked-snapshot' });
    expect(db!.binlog).toMatchObject({ file: expect.stringMatching(/^binlog\.\d+$/), position: expect.any(Number) });
    expect(db!.bytes).toBeGreaterThan(100_000);
    expect(seen.at(-1)).toBe(db!.bytes);
    expect(Object.fromEntries(db!.tables.map((t) => [t.table, [t.rows, t.engine]]))).toEqual({
      customers: [500, 'InnoDB'], empty_one: [0, 'InnoDB'], legacy_myisam: [10, 'MyISAM'], log: [500, 'InnoDB'], 'odd `name': [50, 'InnoDB'], orders: [5000, 'InnoDB'],
    });
    expect(db!.tables.every((t) => /^\d+$/.test(t.checksum ?? ''))).toBe(true);
    expect(await readdir(tempDir)).toEqual([]); // no password file was needed, none is left
    expect(await otherSessions()).toBe(0);

    // The snapshot is an ordinary tree: the filesystem restorer gives back the SQL dump itself.
    const files = join(work, 'as-files');
    expect((await restoreTree(repo, snapshot.tree, files)).errors).toEqual([]);
    const st = await stat(join(files, 'mysql/shop.sql'));
    expect([st.size, st.mode & 0o777]).toEqual([db!.bytes, 0o600]);
    const text = await readFile(join(files, 'mysql/shop.sql'), 'utf8');
    expect([/CREATE DATABASE|^USE /m.test(text), ['TRIGGER customers_ai', 'FUNCTION `twice`', 'PROCEDURE `order_count`', 'EVENT `nightly`', 'VIEW `big_spenders`'].filter((s) => !text.includes(s))]).toEqual([false, []]);
    expect(await checkRepository(repo, { readDataPercent: 100 })).toMatchObject({ ok: true, snapshots: 1 });

    await sql(null, 'DROP DATABASE shop');
    const smokeQueries = ['SELECT 1 FROM customers WHERE id = 1', 'SELECT * FROM orders WHERE amount < 0', 'DELETE FROM orders', 'SELECT 1; DELETE FROM orders', 'DROP TABLE orders', "SELECT * FROM orders INTO OUTFILE '/tmp/x'"];
    const restored = await restoreMysqlLogical(repo, snapshotId, { connection: conn(''), targetDatabase: 'shop_restored', smokeQueries });
    expect(restored.validation).toMatchObject({ ok: true, tablesChecked: 6, mismatches: [], extraTables: [] });
    expect(restored.smoke.map((s) => [s.ok, s.rows, s.error?.slice(0, 20)])).toEqual([
      [true, 1, undefined],
      [false, 0, 'returned no rows'],
      [false, 0, 'only a read-only que'],
      [false, 0, 'You have an error in'],
      [false, 0, 'only a read-only que'],
      [false, 0, 'a smoke query may no'],
    ]);
    expect(restored).toMatchObject({ ok: false, replacedExisting: false, bytes: db!.bytes, sourceDatabase: 'shop', targetDatabase: 'shop_restored' });
    expect(await fingerprint('shop_restored')).toEqual(before);
    // Schema objects came back and work in the new database.
    expect(await sql('shop_restored', 'SELECT twice(21) AS v')).toEqual([{ v: 42 }]);
    expect(await sql('shop_restored', 'SELECT COUNT(*) AS n FROM big_spenders')).toEqual(await sql('shop_restored', 'SELECT COUNT(*) AS n FROM (SELECT customer FROM orders GROUP BY customer HAVING SUM(amount) > 500) x'));
    expect((await sql<unknown>('shop_restored', 'CALL order_count()'))[0]).toEqual([{ n: '5000' }]); // a CALL's result set, then its status
    expect(await sql(null, "SELECT EVENT_SCHEMA AS s, EVENT_NAME AS e FROM information_schema.EVENTS")).toEqual([{ s: 'shop_restored', e: 'nightly' }]);
    expect((await sql<{ c: string }>(null, "SELECT DEFAULT_COLLATION_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'shop_restored'"))[0]!.c).toBe('utf8mb4_unicode_ci');

    // Tampering after the restore is what validation is for (the trigger fires too: log gets a row).
    await sql('shop_restored', "DELETE FROM orders WHERE id = 17; UPDATE customers SET nothing = NULL WHERE id = 7; INSERT INTO empty_one VALUES (1)");
    await sql('shop_restored', "INSERT INTO customers (name, created) VALUES ('late', NOW())");
    const tampered = await validateRestoredDatabase({ ...conn('shop_restored') }, db!);
    expect(tampered.ok).toBe(false);
    expect(tampered.mismatches.map((m) => [m.table, m.problem])).toEqual([['customers', 'rows'], ['empty_one', 'rows'], ['log', 'rows'], ['orders', 'rows']]);
    await sql('shop_restored', "DELETE FROM customers WHERE name = 'late'; DELETE FROM log ORDER BY id DESC LIMIT 1; DELETE FROM empty_one");
    const changedOnly = await validateRestoredDatabase(conn('shop_restored'), db!);
    expect(changedOnly.mismatches.map((m) => [m.table, m.problem])).toEqual([['customers', 'checksum'], ['orders', 'rows']]);
    expect(describeMismatches(changedOnly.mismatches)).toContain('shop_restored.orders: 4999 rows, expected 5000');

    // An existing target is refused, then replaced on request (through a scratch copy that is dropped after).
    await expect(restoreMysqlLogical(repo, snapshotId, { connection: conn(''), targetDatabase: 'shop_restored' })).rejects.toThrow(MysqlRestoreError);
    expect((await sql<{ n: string }>('shop_restored', 'SELECT COUNT(*) AS n FROM orders'))[0]!.n).toBe('4999');
    const again = await restoreMysqlLogical(repo, snapshot, { connection: conn(''), targetDatabase: 'shop_restored', overwrite: true });
    expect(again).toMatchObject({ ok: true, replacedExisting: true, validation: { ok: true } });
    expect(await fingerprint('shop_restored')).toEqual(before);
    expect(await sql(null, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'lifeboat_restore_%'")).toEqual([]);
  });

  it('a routine made under another database collation restores into a new name without touching the original database', async () => {
    await sql(null, 'CREATE DATABASE coll CHARACTER SET latin1 COLLATE latin1_swedish_ci');
    await sql('coll', 'CREATE TABLE t (v INT); INSERT INTO t VALUES (1); CREATE FUNCTION one() RETURNS INT DETERMINISTIC RETURN 1');
    await sql(null, 'ALTER DATABASE coll CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
    const repo = await freshRepo();
    const { snapshotId, snapshot } = await backupMysqlLogical(repo, { source, connection: conn('coll') });
    const files = join(work, 'coll-files');
    await restoreTree(repo, snapshot.tree, files);
    expect(await readFile(join(files, 'mysql/coll.sql'), 'utf8')).toMatch(/^ALTER DATABASE `coll` CHARACTER SET latin1/m);
    const r = await restoreMysqlLogical(repo, snapshotId, { connection: conn(''), targetDatabase: 'coll copy' });
    expect(r.validation?.ok).toBe(true);
    expect(await sql(null, "SELECT SCHEMA_NAME AS s, DEFAULT_COLLATION_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'coll%' ORDER BY 1")).toEqual([
      { s: 'coll', c: 'utf8mb4_bin' },
      { s: 'coll copy', c: 'utf8mb4_bin' },
    ]);
    expect(await sql('coll copy', 'SELECT one() AS v')).toEqual([{ v: 1 }]);
  });

  it('renameDatabaseStatements rewrites only line-initial ALTER DATABASE of the source, across buffer boundaries', async () => {
    const dump = 'SELECT 1;\nALTER DATABASE `a` CHARACTER SET latin1 ;;\nINSERT INTO t VALUES (\'ALTER DATABASE `a` x\');\nALTER DATABASE `ab` CHARACTER SET x;\nALTER DATABASE `a` COLLATE y;\n';
    for (const size of [1, 3, 7, 16, 1000]) {
      const pieces = async function* () {
        for (let i = 0; i < dump.length; i += size) yield Buffer.from(dump.slice(i, i + size));
      };
      const out: Buffer[] = [];
      for await (const b of renameDatabaseStatements(pieces(), 'a', 'b`c')) out.push(b);
      expect(Buffer.concat(out).toString(), `pieces of ${size}`).toBe(dump.replace('ALTER DATABASE `a` CHARACTER', 'ALTER DATABASE `b``c` CHARACTER').replace('ALTER DATABASE `a` COLLATE', 'ALTER DATABASE `b``c` COLLATE'));
    }
  });
});

describe('under write load', () => {
  it('a backup taken while writers commit restores to exactly its manifest, with the invariant intact', async () => {
    await sql(null, 'CREATE DATABASE bank');
    await sql('bank', `
      CREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL, pad VARCHAR(200));
      CREATE TABLE history (id BIGINT AUTO_INCREMENT PRIMARY KEY, account INT, delta BIGINT, at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6));
      INSERT INTO accounts SELECT seq, 1000, REPEAT(MD5(seq), 6) FROM seq_1_to_20000;
      INSERT INTO history (account, delta) SELECT seq % 20000 + 1, 0 FROM seq_1_to_20000;`);
    let stop = false;
    let commits = 0;
    const writer = async (seed: number) => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: 'bank' });
      try {
        for (let i = seed; !stop; i += 7) {
          const from = (i * 7919) % 20000 + 1;
          const to = (i * 104729) % 20000 + 1;
          await c.beginTransaction();
          await c.query('UPDATE accounts SET balance = balance - 5 WHERE id = ?', [from]);
          await c.query('UPDATE accounts SET balance = balance + 5 WHERE id = ?', [to]);
          await c.query('INSERT INTO history (account, delta) VALUES (?, -5), (?, 5)', [from, to]);
          await c.commit();
          commits++;
        }
      } finally {
        await c.end();
      }
    };
    const writers = [writer(1), writer(2)];
    await new Promise((r) => setTimeout(r, 300));
    const commitsBefore = commits;
    const repo = await freshRepo();
    const { snapshotId, meta } = await backupMysqlLogical(repo, { source: { kind: 'mysql', name: 'bank' }, connection: conn('bank') });
    const commitsAfter = commits;
    await new Promise((r) => setTimeout(r, 200));
    stop = true;
    await Promise.all(writers);
    expect(commitsAfter).toBeGreaterThan(commitsBefore); // writers were committing while the backup ran
    const history = meta.databases[0]!.tables.find((t) => t.table === 'history')!.rows;
    const liveHistory = Number((await sql<{ n: string }>('bank', 'SELECT COUNT(*) AS n FROM history'))[0]!.n);
    expect(history).toBeGreaterThan(20000);
    expect(history).toBeLessThan(liveHistory); // writes went on after the snapshot

    const r = await restoreMysqlLogical(repo, snapshotId, { connection: conn(''), targetDatabase: 'bank_restored', smokeQueries: ['SELECT 1 FROM accounts LIMIT 1'] });
    expect(r.validation).toMatchObject({ ok: true, tablesChecked: 2, mismatches: [] });
    expect(r.ok).toBe(true);
    // Every committed state keeps the total at 20000 * 1000 and history pairs complete: a torn dump would not.
    expect(await sql('bank_restored', 'SELECT CAST(SUM(balance) AS CHAR) AS total FROM accounts')).toEqual([{ total: '20000000' }]);
    expect(await sql('bank_restored', 'SELECT CAST(SUM(delta) AS CHAR) AS d, CAST(COUNT(*) % 2 AS CHAR) AS odd FROM history')).toEqual([{ d: '0', odd: '0' }]);
  }, 60_000);
});

describe('all databases', () => {
  it('dumps every non-system database; a restore must choose one', async () => {
    const repo = await freshRepo();
    const { snapshot, snapshotId } = await backupMysqlLogical(repo, { source: { kind: 'mysql', name: 'server' }, connection: conn('all'), manifest: 'count' });
    const names = mysqlDatabasesIn(snapshot).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['bank', 'coll', 'coll copy', 'shop_restored']));
    expect(names.filter((n) => ['mysql', 'sys', 'information_schema', 'performance_schema'].includes(n))).toEqual([]);
    expect(snapshot.paths).toContain('/mysql/coll copy.sql');
    expect(mysqlDatabasesIn(snapshot).every((d) => d.tables.every((t) => t.checksum === null))).toBe(true);
    await expect(restoreMysqlLogical(repo, snapshotId, { connection: conn(''), targetDatabase: 'x' })).rejects.toThrow(/holds \d+ databases .*choose one/);
    const r = await restoreMysqlLogical(repo, snapshotId, { connection: conn(''), database: 'coll', targetDatabase: 'coll2' });
    expect(r.validation).toMatchObject({ ok: true, tablesChecked: 1 });
  }, 60_000);
});

describe('failures', () => {
  it('a database that does not exist fails clearly and leaves no snapshot', async () => {
    const repo = await freshRepo();
    const err = await backupMysqlLogical(repo, { source, connection: conn('no_such_db') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MysqlConnectionError);
    expect((err as Error).message).toBe(`cannot connect to MySQL/MariaDB as root@127.0.0.1:${port}/no_such_db: Unknown database 'no_such_db'`);
    expect(await repo.listSnapshots()).toEqual([]);
    const dead = await freePort();
    await expect(backupMysqlLogical(repo, { source, connection: { ...conn('bank'), port: dead } })).rejects.toThrow(`root@127.0.0.1:${dead}/bank`);
  });

  it('wrong password, missing privileges: clear errors, no snapshot, the password never shown, the option file removed', async () => {
    await sql(null, `CREATE USER 'limited'@'127.0.0.1' IDENTIFIED BY ?; GRANT SELECT, LOCK TABLES ON bank.* TO 'limited'@'127.0.0.1'; GRANT SELECT ON shop_restored.* TO 'limited'@'127.0.0.1'`, [GUARDED]);
    const limited = (database: string, password = GUARDED): MysqlConnection => ({ host: '127.0.0.1', port, user: 'limited', password, database });
    const tempDir = join(work, 'fail-temp');
    await mkdir(tempDir);
    // A failed backup aborts its repository handle's content store: each attempt gets its own handle.
    const repos = await Promise.all([1, 2, 3, 4].map(() => freshRepo()));

    const wrong = await backupMysqlLogical(repos[0]!, { source, connection: limited('bank', 'wrong-pw-9876'), tempDir }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(MysqlConnectionError);
    expect((wrong as Error).message).toMatch(new RegExp(`^cannot connect to MySQL/MariaDB as limited@127\\.0\\.0\\.1:${port}/bank: Access denied for user 'limited'@'127\\.0\\.0\\.1' \\(using password: YES\\)$`));

    // The manifest needs FLUSH TABLES WITH READ LOCK (RELOAD): said so.
    const noReload = await backupMysqlLogical(repos[1]!, { source, connection: limited('bank'), tempDir }).catch((e: unknown) => e);
    expect((noReload as Error).message).toMatch(/^FLUSH TABLES WITH READ LOCK on limited@127\.0\.0\.1:\d+\/bank failed: .*RELOAD.*the user needs the RELOAD privilege, or take the backup with manifest none\)$/);

    // Without a manifest the dump itself runs, through the option file, and fails on the view it may not show.
    const dumpFails = await backupMysqlLogical(repos[2]!, { source, connection: limited('shop_restored'), manifest: 'none', tempDir }).catch((e: unknown) => e);
    expect(dumpFails, String(dumpFails)).toBeInstanceOf(MysqlToolError);
    expect((dumpFails as Error).message).toMatch(/^mariadb-dump for database shop_restored \(limited@127\.0\.0\.1:\d+\/shop_restored\) failed with exit code 2: .*(SHOW VIEW|denied)/);
    // With the privileges a dump needs (no RELOAD), manifest none succeeds: the password reached mariadb-dump through the option file.
    await sql(null, "GRANT SHOW VIEW, TRIGGER, EVENT ON bank.* TO 'limited'@'127.0.0.1'");
    const ok = await backupMysqlLogical(repos[3]!, { source, connection: limited('bank'), manifest: 'none', tempDir });
    expect(ok.meta.databases[0]).toMatchObject({ name: 'bank', manifest: 'none', consistency: 'dump-only', binlog: null, tables: [] });
    for (const e of [wrong, noReload, dumpFails]) expect(String((e as Error).message)).not.toContain(GUARDED);
    expect(await Promise.all(repos.map(async (r) => (await r.listSnapshots()).length))).toEqual([0, 0, 0, 1]);
    expect(await readdir(tempDir)).toEqual([]);
    expect(await otherSessions()).toBe(0);
  });

  it('an abort stops the dump, leaves no snapshot and no session; an aborted restore leaves no database', async () => {
    const repo = await freshRepo();
    const ac = new AbortController();
    let saves = 0;
    const aborting: MysqlBackupRepo = {
      hashedChunks: (r, s) => repo.hashedChunks(r, s),
      saveBlob: (type, data, signal, hints) => {
        if (type === 'data' && ++saves === 2) ac.abort(new Error('operator cancelled'));
        return repo.saveBlob(type, data, signal, hints);
      },
      flush: (s) => repo.flush(s),
      saveSnapshot: (snap, s) => repo.saveSnapshot(snap, s),
      lock: (op, o) => repo.lock(op, o),
      content: repo.content,
    };
    await expect(backupMysqlLogical(aborting, { source, connection: conn('bank'), signal: ac.signal })).rejects.toThrow('operator cancelled');
    expect(saves).toBeGreaterThanOrEqual(2);
    expect(await repo.listSnapshots()).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await otherSessions()).toBe(0);

    const repo2 = await freshRepo(); // the first one's content store was aborted with the backup
    const { snapshotId } = await backupMysqlLogical(repo2, { source, connection: conn('bank'), manifest: 'count' });
    for (const overwrite of [false, true]) {
      if (overwrite) await sql(null, 'CREATE DATABASE IF NOT EXISTS keep_me; CREATE TABLE IF NOT EXISTS keep_me.t (v INT); INSERT INTO keep_me.t VALUES (42)');
      const ac2 = new AbortController();
      const restoring = restoreMysqlLogical(repo2, snapshotId, {
        connection: conn(''),
        targetDatabase: overwrite ? 'keep_me' : 'never_there',
        overwrite,
        signal: ac2.signal,
        onProgress: (p) => p.phase === 'restore' && p.bytesDone > 0 && ac2.abort(new Error('stop the restore')),
      });
      await expect(restoring).rejects.toThrow('stop the restore');
      expect(await sql(null, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'never_there' OR SCHEMA_NAME LIKE 'lifeboat_restore_%'")).toEqual([]);
    }
    expect(await sql('keep_me', 'SELECT v FROM t')).toEqual([{ v: 42 }]); // an aborted overwrite never touched the target
  });
});

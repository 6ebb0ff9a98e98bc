// PostgreSQL logical backup and restore end to end: a throwaway cluster of its own (initdb in a temp dir,
// trust auth, 127.0.0.1 on a free port, socket in the temp dir; scripts/services/postgres.mjs), real
// pg_dump/pg_restore/psql, a real repository on a local directory. No mocks.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalBlobStore } from '../../blob';
import { checkRepository } from '../../repo/check';
import { Repository } from '../../repo/repository';
import { restoreTree } from '../filesystem/restorer';
import { ensurePostgres as ensurePostgresUntyped } from '../../../scripts/services/postgres.mjs';
import { freePort } from '../../../scripts/services/util.mjs';
import {
  PgConnectionError, PgRestoreError, PgToolError, backupPostgresLogical, databasesIn, describeMismatches, restorePostgresLogical,
  validateRestoredDatabase, type PgBackupRepo, type PgConnection,
} from '.';
import { pgTool } from './connection';

type Cluster = { url: string; started: boolean; stop: () => Promise<void> };
const ensurePostgres = ensurePostgresUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void }) => Promise<Cluster>;
const fastKdf = { kdf: { N: 1024 } };
const source = { kind: 'postgres' as const, name: 'main-db' };
let work: string;
let server: Cluster | undefined;
let port: number;
let conn: (database: string) => PgConnection;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lifeboat-pg-test-'));
  port = await freePort();
  server = await ensurePostgres({ dataDir: join(work, 'cluster'), port, log: () => {} });
  conn = (database) => ({ host: '127.0.0.1', port, user: 'postgres', database });
});

afterAll(async () => {
  await server?.stop().catch(() => {});
  await rm(work, { recursive: true, force: true });
});

async function sql<T extends pg.QueryResultRow = Record<string, unknown>>(database: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database });
  await client.connect();
  try {
    const res = (await client.query(text, params)) as pg.QueryResult<T> | pg.QueryResult<T>[];
    return Array.isArray(res) ? res[res.length - 1]!.rows : res.rows;
  } finally {
    await client.end();
  }
}

async function freshRepo(): Promise<Repository> {
  const dir = await mkdtemp(join(work, 'repo-'));
  return Repository.init(new LocalBlobStore(dir, { fsync: false }), { passphrase: 'pw' }, fastKdf);
}

async function fingerprint(database: string) {
  return sql(database, `SELECT (SELECT json_agg(c ORDER BY id) FROM customers c) AS customers,
    (SELECT count(*) FROM orders) AS orders, (SELECT sum(amount) FROM orders) AS amount,
    (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM "Odd Schema"."odd.name") AS odd,
    (SELECT count(*) FROM scratch_unlogged) AS unlogged`);
}

async function lifeboatSessions(): Promise<number> {
  const rows = await sql<{ n: string }>('postgres', "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = 'lifeboat'");
  return Number(rows[0]!.n);
}

describe('single database', () => {
  beforeAll(async () => {
    await sql('postgres', 'CREATE DATABASE shop');
    await sql('shop', `
      CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, created timestamptz NOT NULL, balance numeric(12,2),
                              score float8, tags text[], profile jsonb, avatar bytea, nothing text);
      CREATE TABLE orders (id bigserial PRIMARY KEY, customer int REFERENCES customers, amount numeric(10,2), at date);
      CREATE TABLE events (id int, at timestamptz, kind text) PARTITION BY RANGE (at);
      CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
      CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE SCHEMA "Odd Schema";
      CREATE TABLE "Odd Schema"."odd.name" ("t" text, "r" int);
      CREATE UNLOGGED TABLE scratch_unlogged (v int);
      CREATE TABLE empty_one (v int);
      CREATE VIEW big_spenders AS SELECT customer, sum(amount) FROM orders GROUP BY customer HAVING sum(amount) > 500;
      INSERT INTO customers (name, created, balance, score, tags, profile, avatar)
        SELECT 'customer ' || g, timestamptz '2024-01-15 10:00:00+02' + g * interval '1 hour', g * 1.25, g / 3.0, ARRAY['a' || g, 'b'],
               jsonb_build_object('n', g, 'quote', 'it''s "quoted"'), decode(md5(g::text), 'hex')
        FROM generate_series(1, 500) g;
      INSERT INTO orders (customer, amount, at) SELECT 1 + g % 500, (g % 97) * 3.5, date '2024-01-01' + g % 300 FROM generate_series(1, 5000) g;
      INSERT INTO events SELECT g, timestamptz '2023-06-01' + g * interval '3 hours', 'k' || g % 7 FROM generate_series(1, 4000) g;
      INSERT INTO "Odd Schema"."odd.name" SELECT 'row ' || g, g FROM generate_series(1, 50) g;
      INSERT INTO scratch_unlogged SELECT generate_series(1, 10);
    `);
  });

  it('backs up, is dropped, restores into a new name, validates; a tampered copy is caught', async () => {
    const repo = await freshRepo();
    const before = await fingerprint('shop');
    const seen: number[] = [];
    const { snapshotId, snapshot, meta } = await backupPostgresLogical(repo, { source, connection: conn('shop'), onProgress: (p) => seen.push(p.bytesDone) });

    expect(snapshot.source).toEqual(source);
    expect(snapshot.paths).toEqual(['/postgres/shop.dump']);
    expect(meta.globals).toBeNull();
    const [db] = meta.databases;
    expect(db!.name).toBe('shop');
    expect(db!.bytes).toBeGreaterThan(100_000);
    expect(seen.at(-1)).toBe(db!.bytes);
    const tables = Object.fromEntries(db!.tables.map((t) => [`${t.schema}.${t.table}`, t.rows]));
    expect(tables).toEqual({
      'Odd Schema.odd.name': 50, 'public.customers': 500, 'public.empty_one': 0, 'public.events_2023': 1711, 'public.events_2024': 2289,
      'public.orders': 5000, 'public.scratch_unlogged': 10,
    });
    expect(db!.tables.every((t) => t.checksum !== null)).toBe(true);
    expect(await lifeboatSessions()).toBe(0);

    // The snapshot is an ordinary tree: the filesystem restorer gives back the dump file itself.
    const files = join(work, 'as-files');
    const asFiles = await restoreTree(repo, snapshot.tree, files);
    expect(asFiles.errors).toEqual([]);
    expect((await stat(join(files, 'postgres/shop.dump'))).size).toBe(db!.bytes);
    expect((await stat(join(files, 'postgres/shop.dump'))).mode & 0o777).toBe(0o600);
    expect(await checkRepository(repo, { readDataPercent: 100 })).toMatchObject({ ok: true, snapshots: 1 });

    await sql('postgres', 'DROP DATABASE shop');
    const smokeQueries = ['SELECT 1 FROM customers WHERE id = 1', 'SELECT * FROM orders WHERE amount < 0', 'COMMIT; DELETE FROM orders RETURNING id', 'DELETE FROM orders RETURNING id'];
    const restored = await restorePostgresLogical(repo, snapshotId, { connection: conn('postgres'), targetDatabase: 'shop_restored', smokeQueries });
    expect(restored.validation).toMatchObject({ ok: true, tablesChecked: 7, mismatches: [], extraTables: [] });
    expect(restored.smoke).toEqual([
      { query: smokeQueries[0], ok: true, rows: 1 },
      { query: smokeQueries[1], ok: false, rows: 0, error: 'returned no rows' },
      { query: smokeQueries[2], ok: false, rows: 0, error: 'cannot insert multiple commands into a prepared statement' },
      { query: smokeQueries[3], ok: false, rows: 0, error: 'cannot execute DELETE in a read-only transaction' },
    ]);
    expect(restored.ok).toBe(false); // because of the failing smoke query
    expect(restored.bytes).toBe(db!.bytes);
    expect(await fingerprint('shop_restored')).toEqual(before);
    expect(await sql('shop_restored', 'SELECT count(*)::int AS n FROM big_spenders')).toEqual((await sql('shop_restored', 'SELECT count(*)::int AS n FROM (SELECT customer FROM orders GROUP BY customer HAVING sum(amount) > 500) x')));
    expect((await sql('postgres', "SELECT datname FROM pg_database WHERE datname LIKE 'lifeboat_restore_%'")).length).toBe(0);

    // Tampering after the restore is what validation is for.
    await sql('shop_restored', 'DELETE FROM orders WHERE id = 17');
    await sql('shop_restored', "UPDATE customers SET name = 'someone else' WHERE id = 3");
    const tampered = await validateRestoredDatabase(conn('shop_restored'), db!);
    expect(tampered.ok).toBe(false);
    expect(tampered.mismatches.map((m) => [`${m.schema}.${m.table}`, m.problem])).toEqual([['public.customers', 'checksum'], ['public.orders', 'rows']]);
    expect(describeMismatches(tampered.mismatches)).toContain('public.orders: 4999 rows, expected 5000');

    // An existing target is refused, then replaced on request (parallel restore from a private temp file).
    await expect(restorePostgresLogical(repo, snapshotId, { connection: conn('postgres'), targetDatabase: 'shop_restored' })).rejects.toThrow(PgRestoreError);
    const temp = join(work, 'restore-temp');
    await mkdir(temp);
    const again = await restorePostgresLogical(repo, snapshot, { connection: conn('postgres'), targetDatabase: 'shop_restored', overwrite: true, jobs: 2, tempDir: temp });
    expect(again).toMatchObject({ ok: true, replacedExisting: true, parallelJobs: 2, validation: { ok: true } });
    expect(await readdir(temp)).toEqual([]);
    expect(await fingerprint('shop_restored')).toEqual(before);
  });
});

describe('all databases and globals', () => {
  it('dumps every database plus roles; restoring globals brings a dropped role back', async () => {
    await sql('postgres', "CREATE ROLE lifeboat_app LOGIN PASSWORD 'app-secret'");
    await sql('postgres', 'CREATE DATABASE alpha OWNER lifeboat_app');
    await sql('postgres', 'CREATE DATABASE "beta/with slash"');
    await sql('alpha', 'CREATE TABLE notes (id int, body text); INSERT INTO notes SELECT g, repeat(g::text, 20) FROM generate_series(1, 300) g; ALTER TABLE notes OWNER TO lifeboat_app');
    await sql('beta/with slash', 'CREATE TABLE t (v int); INSERT INTO t VALUES (1), (2)');
    const repo = await freshRepo();
    const { snapshot, snapshotId, meta } = await backupPostgresLogical(repo, { source: { kind: 'postgres', name: 'cluster' }, connection: conn('all') });
    const names = databasesIn(snapshot).map((d) => d.name);
    expect(names).toEqual(expect.arrayContaining(['alpha', 'beta/with slash', 'postgres', 'lifeboat']));
    expect(names).not.toContain('template0');
    expect(names).not.toContain('template1');
    expect(snapshot.paths).toContain('/postgres/beta%2Fwith slash.dump');
    expect(snapshot.paths).toContain('/postgres/globals.sql');
    expect(meta.globals!.bytes).toBeGreaterThan(0);

    const files = join(work, 'all-files');
    await restoreTree(repo, snapshot.tree, files);
    const { readFile } = await import('node:fs/promises');
    expect(await readFile(join(files, 'postgres/globals.sql'), 'utf8')).toMatch(/CREATE ROLE lifeboat_app;/);

    await sql('postgres', 'DROP DATABASE alpha');
    await sql('postgres', 'DROP ROLE lifeboat_app');
    await expect(restorePostgresLogical(repo, snapshotId, { connection: conn('postgres'), targetDatabase: 'x' })).rejects.toThrow(/holds \d+ databases .*choose one/);
    const r = await restorePostgresLogical(repo, snapshotId, { connection: conn('postgres'), database: 'alpha', targetDatabase: 'alpha', globals: true });
    expect(r.ok).toBe(true);
    expect(r.globals.applied).toBe(true);
    expect(r.globals.errors).toEqual(['ERROR:  role "postgres" already exists']);
    expect(await sql('postgres', "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'lifeboat_app'")).toEqual([{ rolcanlogin: true }]);
    expect(await sql('alpha', "SELECT tableowner FROM pg_tables WHERE tablename = 'notes'")).toEqual([{ tableowner: 'lifeboat_app' }]);
    const beta = await restorePostgresLogical(repo, snapshotId, { connection: conn('postgres'), database: 'beta/with slash', targetDatabase: 'beta2' });
    expect(beta.validation).toMatchObject({ ok: true, tablesChecked: 1 });
  });
});

describe('under write load', () => {
  it('a backup taken while pgbench writes restores to exactly its manifest', async () => {
    await sql('postgres', 'CREATE DATABASE bench');
    const pgbench = (args: string[]) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(pgTool('psql').replace(/psql$/, 'pgbench'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', ...args, 'bench']);
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (out += d));
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`pgbench ${args.join(' ')}: ${out}`))));
      });
    await pgbench(['-i', '-q', '-s', '1']);
    const load = pgbench(['-T', '5', '-c', '2', '-n']);
    await new Promise((r) => setTimeout(r, 1000));
    const before = Number((await sql<{ n: string }>('bench', 'SELECT count(*) AS n FROM pgbench_history'))[0]!.n);
    const repo = await freshRepo();
    const { snapshotId, meta } = await backupPostgresLogical(repo, { source: { kind: 'postgres', name: 'bench' }, connection: conn('bench') });
    const out = await load;
    expect(out).toMatch(/number of transactions actually processed: [1-9]/);
    const after = Number((await sql<{ n: string }>('bench', 'SELECT count(*) AS n FROM pgbench_history'))[0]!.n);
    const history = meta.databases[0]!.tables.find((t) => t.table === 'pgbench_history')!.rows;
    expect(history).toBeGreaterThanOrEqual(before);
    expect(history).toBeLessThan(after); // writes went on after the snapshot

    const r = await restorePostgresLogical(repo, snapshotId, { connection: conn('postgres'), targetDatabase: 'bench_restored', smokeQueries: ['SELECT 1 FROM pgbench_accounts LIMIT 1'] });
    expect(r.validation).toMatchObject({ ok: true, tablesChecked: 4, mismatches: [] });
    expect(r.ok).toBe(true);
    // pgbench keeps sum(abalance) = sum(bbalance) = sum(tbalance) in every committed state: a torn dump would break it.
    const sums = await sql<{ a: string; b: string; t: string }>('bench_restored', 'SELECT (SELECT sum(abalance) FROM pgbench_accounts) a, (SELECT sum(bbalance) FROM pgbench_branches) b, (SELECT sum(tbalance) FROM pgbench_tellers) t');
    expect(sums[0]!.a).toBe(sums[0]!.b);
    expect(sums[0]!.b).toBe(sums[0]!.t);
  });
});

describe('failures', () => {
  it('a database that does not exist fails clearly and leaves no snapshot', async () => {
    const repo = await freshRepo();
    const err = await backupPostgresLogical(repo, { source, connection: conn('no_such_db') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgConnectionError);
    expect((err as Error).message).toBe(`cannot connect to PostgreSQL as postgres@127.0.0.1:${port}/no_such_db: database "no_such_db" does not exist`);
    expect(await repo.listSnapshots()).toEqual([]);
  });

  it('a server that does not answer is named in the error', async () => {
    const repo = await freshRepo();
    const dead = await freePort();
    await expect(backupPostgresLogical(repo, { source, connection: { ...conn('shop'), port: dead } })).rejects.toThrow(`postgres@127.0.0.1:${dead}/shop`);
  });

  it('pg_dump failing fails the backup with its stderr and leaves no snapshot', async () => {
    await sql('postgres', 'CREATE DATABASE locked');
    await sql('postgres', "CREATE ROLE limited LOGIN PASSWORD 'limited-pw'");
    await sql('locked', 'CREATE TABLE secret (v int); REVOKE ALL ON secret FROM PUBLIC');
    const repo = await freshRepo();
    const err = await backupPostgresLogical(repo, { source, manifest: 'none', connection: { ...conn('locked'), user: 'limited', password: 'limited-pw' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgToolError);
    expect((err as Error).message).toMatch(/^pg_dump for database locked \(limited@127\.0\.0\.1:\d+\/locked\) failed with exit code 1: pg_dump: error: .*permission denied for table secret/);
    expect((err as Error).message).not.toContain('limited-pw');
    expect(await repo.listSnapshots()).toEqual([]);
    // With the manifest on, the same permission problem is reported by whichever side meets it first.
    const repo2 = await freshRepo();
    await expect(backupPostgresLogical(repo2, { source, connection: { ...conn('locked'), user: 'limited', password: 'limited-pw' } })).rejects.toThrow(/database locked.*permission denied for table secret/);
    expect(await lifeboatSessions()).toBe(0);
  });

  it('an abort stops pg_dump, leaves no snapshot and no session; an aborted restore leaves no database', async () => {
    const repo = await freshRepo();
    const ac = new AbortController();
    let saves = 0;
    const aborting: PgBackupRepo = {
      hashedChunks: (r, s) => repo.hashedChunks(r, s),
      saveBlob: (type, data, signal, hints) => {
        if (type === 'data' && ++saves === 3) ac.abort(new Error('operator cancelled'));
        return repo.saveBlob(type, data, signal, hints);
      },
      flush: (s) => repo.flush(s),
      saveSnapshot: (snap, s) => repo.saveSnapshot(snap, s),
      lock: (op, o) => repo.lock(op, o),
      content: repo.content,
    };
    await expect(backupPostgresLogical(aborting, { source, connection: conn('bench'), signal: ac.signal })).rejects.toThrow('operator cancelled');
    expect(await repo.listSnapshots()).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await lifeboatSessions()).toBe(0);

    const repo2 = await freshRepo();
    const { snapshotId } = await backupPostgresLogical(repo2, { source, connection: conn('bench') });
    const ac2 = new AbortController();
    const restoring = restorePostgresLogical(repo2, snapshotId, {
      connection: conn('postgres'),
      targetDatabase: 'never_there',
      signal: ac2.signal,
      onProgress: (p) => p.phase === 'restore' && p.bytesDone > 0 && ac2.abort(new Error('stop the restore')),
    });
    await expect(restoring).rejects.toThrow('stop the restore');
    expect(await sql('postgres', "SELECT datname FROM pg_database WHERE datname = 'never_there' OR datname LIKE 'lifeboat_restore_%'")).toEqual([]);
  });
});

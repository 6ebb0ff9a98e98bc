// A MySQL/MariaDB source's point-in-time restore from the console, end to end against real components: a
// throwaway MariaDB with binary logging on, an S3 target on the RADOS Gateway, the source added through the
// form with binlog archiving on, a dump taken by the worker, rows written at T2 and T3 after it, a second dump
// after which the worker archives the binlogs (the CLI's `binlog-push` is covered by
// bin/cli/database-mysql-pitr.test.ts), the recovery window on the source page,
// and "Restore to a point in time" to a moment between T2 and T3: the new database on the staging server holds
// the dump's rows and T2's, not T3's. A moment outside the window is refused before anything runs.
import { expect, test } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { ensureMariadb as ensureMariadbUntyped } from '../scripts/services/mariadb.mjs';
import { freePort } from '../scripts/services/util.mjs';
import { admin, login, restoreToMoment, s3TargetWithRepository, unique } from './helpers';

type Server = { stop: () => Promise<void> };
const ensureMariadb = ensureMariadbUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; binlog?: boolean }) => Promise<Server>;

const PASSWORD = `e2e-My-${Date.now().toString(36)}-not-shown`;
const work = mkdtempSync(join(tmpdir(), 'lifeboat-e2e-my-'));
let server: Server | undefined;
test.use({ timezoneId: 'UTC' });

test.afterAll(async () => {
  await server?.stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

test('a MySQL/MariaDB source: binlogs archived, recovery window, restore to a moment into a staging database', async ({ page }) => {
  test.setTimeout(300_000);
  await login(page, admin.email, admin.password);
  const api = page.request;
  const { targetName } = await s3TargetWithRepository(api, 'myrepo');

  const port = await freePort();
  server = await ensureMariadb({ dataDir: join(work, 'srv'), port, log: () => {}, binlog: true });
  const root = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', multipleStatements: true });
  const sql = async (text: string) => (await root.query(text))[0] as Record<string, unknown>[];
  try {
    await sql(`CREATE USER lb@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'; GRANT ALL PRIVILEGES ON *.* TO lb@'127.0.0.1';
      CREATE DATABASE shop; CREATE TABLE shop.events (id INT PRIMARY KEY, label VARCHAR(40)) ENGINE=InnoDB;
      INSERT INTO shop.events SELECT seq, 'before the dump' FROM shop.seq_1_to_500;`);

    // The source, through the console's form.
    await page.goto('/sources');
    const name = unique('zmy');
    const form = page.getByTestId('add-source-form');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Kind').selectOption('mysql');
    await form.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await form.getByLabel('Port', { exact: true }).fill(String(port));
    await form.getByLabel('User', { exact: true }).fill('lb');
    await form.getByLabel(/^Database/).fill('shop');
    await form.getByLabel('Password').fill(PASSWORD);
    await form.getByLabel(/Smoke queries/).fill("SELECT 1 FROM events WHERE label = 'T2'");
    await form.getByLabel(/Archive the binary logs/).check();
    await form.getByLabel('Storage target').selectOption({ label: targetName });
    await form.getByRole('button', { name: 'Add source' }).click();
    await page.getByTestId(`source-${name}`).getByRole('link', { name }).click();
    await expect(page.getByTestId('source-summary')).toContainText(`lb@127.0.0.1:${port}/shop · password stored (encrypted)`);
    const sourceId = page.url().split('/').pop()!;

    // Before the first dump, the window says what is missing (the repository is created by the first backup).
    const window = page.getByTestId('recovery-window');
    await expect(window.getByTestId('recovery-window-unavailable')).toContainText(/holds no repository yet: back the source up first/);

    // A dump by the worker (which archives the binlogs after it), then T2 and T3.
    const points = page.getByTestId('restore-points');
    await page.getByRole('button', { name: 'Back up now' }).click();
    await expect(points.locator('tbody tr')).toHaveCount(1, { timeout: 90_000 });
    await expect(points.locator('tbody tr').first().getByTestId('content')).toHaveText('mariadb-dump (shop)');
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await sleep(1100);
    // Written the way an application does, in its default database: the replay keeps this database's events by
    // the default database of each statement, as `mariadb-binlog --database` does (docs/mysql.md §7).
    const app = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', database: 'shop', multipleStatements: true });
    await app.query("INSERT INTO events VALUES (1002, 'T2')");
    await sleep(1600);
    const moment = new Date(Math.floor(Date.now() / 1000) * 1000);
    await sleep(1600);
    await app.query("INSERT INTO events VALUES (1003, 'T3'); UPDATE events SET label = 'changed at T3' WHERE id = 5");
    await app.end();
    await sleep(1100);
    // The worker archives the binlogs after each dump (and on its status round): a second dump takes T2 and T3 along.
    await page.getByRole('button', { name: 'Back up now' }).click();
    await expect(points.locator('tbody tr')).toHaveCount(2, { timeout: 90_000 });

    // The recovery window: from the first dump to about the push; the source list counts it for the achieved RPO.
    await page.reload();
    await expect(window.getByTestId('newest-wal')).toHaveText(/^binlog\.\d{6}$/, { timeout: 30_000 });
    await expect(window.getByTestId('window-from')).not.toHaveText('–');
    await expect(window.getByTestId('wal-rpo')).toHaveText(/\d+ min/);
    await expect(window).toContainText('2 dumps with a binlog position');
    const answer = await api.get(`/api/sources/${sourceId}/recovery-window`);
    const text = await answer.text();
    expect(answer.status(), text).toBe(200);
    const w = JSON.parse(text).recoveryWindow;
    expect(w).toMatchObject({ engine: 'mysql', available: true });
    expect(Date.parse(w.systems[0].to)).toBeGreaterThan(moment.getTime() + 1500);
    const listed = (await (await api.get('/api/sources')).json()).sources.find((x: { id: string }) => x.id === sourceId);
    expect(listed).toMatchObject({ rpoFrom: 'WAL', rpoStatus: 'green' });

    // A moment outside the window is refused before anything runs, naming the window.
    const early = await api.post(`/api/sources/${sourceId}/recover-database`, { data: { targetTime: '2001-01-01T00:00:00Z', targetDatabase: 'shop_never' } });
    expect(early.status()).toBe(400);
    expect(JSON.stringify(await early.json())).toMatch(/before the recovery window, which starts at .* \(the oldest dump with archived binary logs\)/);

    const cluster = await api.post(`/api/sources/${sourceId}/recover-database`, { data: { latest: true, targetDatabase: 'shop_never', systemId: '7301' } });
    expect(JSON.stringify(await cluster.json())).toMatch(/systemId: is for PostgreSQL clusters/);

    // Restore to the moment from the browser.
    const restored = await restoreToMoment(page, moment, 'shop', 'shop_at_t2', 120_000);
    await expect(restored).toContainText(/dump [0-9a-f]{8} restored, then \d+ archived binlog file\(s\) replayed/);
    await expect(restored.getByTestId('restore-db-validation')).toHaveText(/validation ok: 1 tables match the dump/);
    await expect(restored).toContainText("smoke ok: SELECT 1 FROM events WHERE label = 'T2'");
    expect(await sql("SELECT GROUP_CONCAT(label ORDER BY id) AS l FROM shop_at_t2.events WHERE id > 1000")).toEqual([{ l: 'T2' }]);
    expect(await sql('SELECT label AS l FROM shop_at_t2.events WHERE id = 5')).toEqual([{ l: 'before the dump' }]);
    expect(await sql('SELECT COUNT(*) AS n FROM shop_at_t2.events')).toEqual([{ n: 501 }]);

    // The latest point through the API: every archived binlog replayed, T3 included.
    const latest = await api.post(`/api/sources/${sourceId}/recover-database`, { data: { latest: true, targetDatabase: 'shop_latest' } });
    expect(latest.status()).toBe(202);
    const { jobRunId } = await latest.json();
    await expect.poll(async () => (await (await api.get(`/api/jobs/${jobRunId}`)).json()).jobRun.status, { timeout: 120_000 }).toBe('succeeded');
    expect((await (await api.get(`/api/jobs/${jobRunId}`)).json()).jobRun.result).toMatchObject({ engine: 'mysql', pointInTime: 'latest', stoppedAt: w.systems[0].to });
    expect(await sql('SELECT GROUP_CONCAT(label ORDER BY id) AS l FROM shop_latest.events WHERE id > 1000 OR id = 5')).toEqual([{ l: 'changed at T3,T2,T3' }]);

    // The password is stored but never answered, nor rendered.
    for (const url of ['/api/sources', `/api/sources/${sourceId}`, `/api/sources/${sourceId}/recovery-window`, '/api/jobs']) {
      expect(await (await api.get(url)).text(), url).not.toContain(PASSWORD);
    }
    expect(await page.content()).not.toContain(PASSWORD);
  } finally {
    await root.end();
  }
});

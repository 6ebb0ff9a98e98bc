// A PostgreSQL source in the console, end to end against real components: an S3 target on the RADOS Gateway,
// a throwaway cluster whose archive_command is the real `lifeboat wal-push` into that target's repository,
// the source added through the form (with a password), a logical dump and a base backup taken by the worker,
// the source page showing both restore points and the continuous recovery window (newest archived WAL,
// achieved RPO), then "Restore to staging database" with its progress bar and the validation result, then
// "Restore to a point in time": rows written at T2 and T3 after the base backup, recovery to a moment between
// them picked in the browser, the copy on the staging server holding the T2 rows and not the T3 rows. The
// password never comes back from the API or in the page.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ensurePostgres as ensurePostgresUntyped } from '../scripts/services/postgres.mjs';
import { freePort } from '../scripts/services/util.mjs';
import { admin, login, restoreToMoment, s3TargetWithRepository, unique } from './helpers';

type Cluster = { stop: () => Promise<void> };
const ensurePostgres = ensurePostgresUntyped as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; extraConf?: string }) => Promise<Cluster>;

const CLI = join(process.cwd(), 'bin/lifeboat.mjs');
const PASSWORD = `e2e-Pw-${Date.now().toString(36)}-not-shown`;
const work = mkdtempSync(join(tmpdir(), 'lifeboat-e2e-db-'));
let cluster: Cluster | undefined;
// The browser's time zone for the point-in-time input: UTC, so the test can type what it means.
test.use({ timezoneId: 'UTC' });

test.afterAll(async () => {
  await cluster?.stop().catch(() => {});
  rmSync(work, { recursive: true, force: true });
});

async function sql(port: number, database: string, text: string) {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

test('a PostgreSQL source: restore points, recovery window, restore to a staging database with validation', async ({ page }) => {
  test.setTimeout(300_000);
  await login(page, admin.email, admin.password);
  const api = page.request;

  // The repository: an S3 target (the check creates its bucket); its password goes to archive_command's env file.
  const { targetName, env: walEnv } = await s3TargetWithRepository(api, 'pgrepo');
  const envFile = join(work, 'wal.env');
  writeFileSync(envFile, Object.entries(walEnv).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n'), { mode: 0o600 });
  if (process.getuid?.() === 0) {
    chownSync(envFile, Number(execFileSync('id', ['-u', 'postgres']).toString()), Number(execFileSync('id', ['-g', 'postgres']).toString()));
    execFileSync(process.execPath, [CLI, '--help'], { stdio: 'ignore' }); // builds the CLI bundle the postgres user runs
  }
  const port = await freePort();
  cluster = await ensurePostgres({ dataDir: join(work, 'pg'), port, log: () => {}, extraConf: `archive_mode = on\narchive_command = '${process.execPath} ${CLI} --env-file ${envFile} wal-push %p'\n` });
  await sql(port, 'postgres', 'CREATE DATABASE shop');
  await sql(port, 'shop', "CREATE TABLE orders (id int PRIMARY KEY, amount numeric(8,2)); INSERT INTO orders SELECT g, g * 2.5 FROM generate_series(1, 5000) g;");

  // Add the source through the console's form.
  await page.goto('/sources');
  const name = unique('zdb');
  const form = page.getByTestId('add-source-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Kind').selectOption('postgres');
  await form.getByLabel('Host').fill('127.0.0.1');
  await form.getByLabel('Port').fill(String(port));
  await form.getByLabel('User').fill('postgres');
  await form.getByLabel(/^Database/).fill('shop');
  await form.getByLabel('Password').fill(PASSWORD);
  await form.getByLabel(/Smoke queries/).fill('SELECT 1 FROM orders WHERE id = 4999');
  await form.getByLabel('Storage target').selectOption({ label: targetName });
  await form.getByRole('button', { name: 'Add source' }).click();
  const row = page.getByTestId(`source-${name}`);
  await expect(row).toBeVisible();
  await row.getByRole('link', { name }).click();
  await expect(page.getByTestId('source-summary')).toContainText(`postgres@127.0.0.1:${port}/shop · password stored (encrypted)`);

  // A logical dump, then a base backup (WAL archived by the server itself), both by the worker.
  const points = page.getByTestId('restore-points');
  await page.getByRole('button', { name: 'Back up now' }).click();
  await expect(points.locator('tbody tr')).toHaveCount(1, { timeout: 90_000 });
  await expect(points.locator('tbody tr').first().getByTestId('content')).toHaveText('pg_dump (shop)');
  await page.getByRole('button', { name: 'Base backup' }).click();
  await expect(points.locator('tbody tr')).toHaveCount(2, { timeout: 120_000 });
  await expect(points.locator('tbody tr').first().getByTestId('content')).toHaveText('base backup');

  // The recovery window next to the restore points.
  await page.reload();
  const window = page.getByTestId('recovery-window');
  await expect(window.getByTestId('newest-wal')).toHaveText(/^[0-9A-F]{24}/, { timeout: 30_000 });
  await expect(window.getByTestId('window-from')).not.toHaveText('–');
  await expect(window.getByTestId('window-to')).not.toHaveText('–');
  await expect(window.getByTestId('wal-rpo')).toHaveText(/\d+ min/);

  // Restore the dump into a new database on this (staging) source's server, watching the progress bar.
  const dump = points.locator('tbody tr').filter({ hasText: 'pg_dump' });
  await dump.getByRole('button', { name: 'Restore to staging database…' }).click();
  await dump.getByLabel('New database name').fill('shop_from_console');
  await expect(dump.getByLabel('Staging server')).toContainText('this source');
  await dump.getByRole('button', { name: 'Restore', exact: true }).click();
  await expect(dump.getByTestId('job-progress')).toBeVisible();
  const result = dump.getByTestId('restore-db-result');
  await expect(result).toBeVisible({ timeout: 90_000 });
  await expect(result.getByTestId('restore-db-validation')).toHaveText(/validation ok: 1 tables match/);
  await expect(result).toContainText('smoke ok: SELECT 1 FROM orders WHERE id = 4999');
  expect(await sql(port, 'shop_from_console', 'SELECT count(*)::int AS n FROM orders')).toEqual([{ n: 5000 }]);

  // Point-in-time recovery from the browser. Rows at T2, the chosen moment, rows at T3; a WAL switch archives them.
  const sourceId = page.url().split('/').pop()!;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sql(port, 'shop', 'INSERT INTO orders SELECT g, 1 FROM generate_series(5001, 5100) g');
  await sleep(1500);
  const moment = new Date(Math.floor(Date.now() / 1000) * 1000);
  await sleep(1500);
  await sql(port, 'shop', 'INSERT INTO orders SELECT g, 2 FROM generate_series(5101, 5200) g');
  await sql(port, 'postgres', 'SELECT pg_switch_wal()');
  const windowTo = async () => Date.parse((await (await api.get(`/api/sources/${sourceId}/recovery-window`)).json()).recoveryWindow.systems[0]?.to ?? 0);
  await expect.poll(windowTo, { timeout: 60_000 }).toBeGreaterThan(moment.getTime() + 1500);

  // Reading the window recorded its end: the source list's achieved RPO counts the archived WAL.
  const listed = (await (await api.get('/api/sources')).json()).sources.find((x: { id: string }) => x.id === sourceId);
  expect(listed).toMatchObject({ rpoFrom: 'WAL', rpoStatus: 'green' });
  expect(Date.parse(listed.walArchivedAt)).toBe(await windowTo());
  expect(Date.parse(listed.walArchivedAt)).toBeGreaterThan(Date.parse(listed.lastRestorePointAt));
  await page.goto('/sources');
  await expect(page.getByTestId(`source-${name}`)).toContainText('(archived WAL)');

  // A moment outside the window is refused before anything runs, naming the window.
  const refuse = async (targetTime: string) => api.post(`/api/sources/${sourceId}/recover-database`, { data: { targetTime, targetDatabase: 'shop_never' } });
  const early = await refuse('2001-01-01T00:00:00Z');
  expect(early.status()).toBe(400);
  expect(JSON.stringify(await early.json())).toMatch(/before the recovery window, which starts at/);
  const future = await refuse(new Date(Date.now() + 3_600_000).toISOString());
  expect(JSON.stringify(await future.json())).toMatch(/in the future/);

  await page.goto(`/sources/${sourceId}`);
  await expect(page.getByTestId('recovery-timeline')).toBeVisible({ timeout: 30_000 });
  const recovered = await restoreToMoment(page, moment, 'shop', 'shop_at_t2', 180_000);
  await expect(recovered.getByTestId('restore-db-validation')).toHaveText(/validation ok: 1 tables match the recovered cluster/);
  await expect(recovered).toContainText('smoke ok: SELECT 1 FROM orders WHERE id = 4999');
  await expect(recovered).toContainText(/WAL files replayed/);
  expect(await sql(port, 'shop_at_t2', 'SELECT count(*)::int AS n, max(id) AS top FROM orders')).toEqual([{ n: 5100, top: 5100 }]);
  // The scratch cluster the worker recovered into is gone.
  expect(execFileSync('sh', ['-c', `ls -d ${tmpdir()}/lifeboat-pitr-scratch-* 2>/dev/null || true`]).toString().trim()).toBe('');

  // The password is stored but never answered, nor rendered.
  for (const url of ['/api/sources', `/api/sources/${sourceId}`, `/api/sources/${sourceId}/restore-points`, `/api/sources/${sourceId}/recovery-window`, '/api/jobs']) {
    const text = await (await api.get(url)).text();
    expect(text, url).not.toContain(PASSWORD);
  }
  expect((await (await api.get(`/api/sources/${sourceId}`)).json()).source.hasPassword).toBe(true);
  expect(await page.content()).not.toContain(PASSWORD);
});

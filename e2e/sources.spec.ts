// The backup journey in the browser: add a filesystem source, back it up with live progress, see the
// restore point, restore it into a directory (files checked on disk), verify it; production restores are
// refused until approvals exist.
import { expect, test } from '@playwright/test';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { admin, login, unique } from './helpers';

test('back up a directory from the console, restore it and verify it', async ({ page }) => {
  const dataDir = process.env.LIFEBOAT_DATA_DIR;
  if (!dataDir) throw new Error('LIFEBOAT_DATA_DIR is not set: run through `npm test`');
  const src = mkdtempSync(join(tmpdir(), 'lifeboat-e2e-src-'));
  mkdirSync(join(src, 'docs'));
  writeFileSync(join(src, 'index.html'), '<h1>from the browser</h1>');
  writeFileSync(join(src, 'docs/big.bin'), randomBytes(6 * 1024 * 1024));

  await login(page, admin.email, admin.password);
  await page.goto('/sources');
  const name = unique('www');
  const form = page.getByTestId('add-source-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel(/Paths or globs/).fill(src);
  await form.getByLabel('Storage target').selectOption({ label: 'local' });
  await form.getByRole('button', { name: 'Add source' }).click();
  const row = page.getByTestId(`source-${name}`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('rpo')).toHaveText('red'); // never backed up

  await row.getByRole('button', { name: 'Back up now' }).click();
  await expect(row.getByTestId('restore-point-count')).toHaveText('1', { timeout: 60_000 });
  await expect(row.getByTestId('rpo')).toHaveText('green');

  await row.getByRole('link', { name }).click();
  const points = page.getByTestId('restore-points');
  await expect(points.locator('tbody tr')).toHaveCount(1);
  await expect(points).toContainText('complete');

  // A second backup through the detail page: incremental, nothing new to store.
  await page.getByRole('button', { name: 'Back up now' }).click();
  await expect(page.getByTestId('job-progress').first()).toBeVisible();
  await expect(points.locator('tbody tr')).toHaveCount(2, { timeout: 60_000 });
  await expect(points.locator('tbody tr').first()).toContainText('incremental');

  const newest = points.locator('tbody tr').first();
  await newest.getByRole('button', { name: 'Restore…' }).click();
  const targetDir = join(dataDir, 'restores', name);
  await newest.getByLabel('Restore into directory').fill(targetDir);
  await newest.getByRole('button', { name: 'Restore' }).click();
  await expect(newest.getByTestId('restore-done')).toContainText('restored 2 files', { timeout: 60_000 });
  expect(readFileSync(join(targetDir, 'index.html'), 'utf8')).toBe('<h1>from the browser</h1>');
  expect(readFileSync(join(targetDir, 'docs/big.bin')).equals(readFileSync(join(src, 'docs/big.bin')))).toBe(true);

  await newest.getByRole('button', { name: 'Verify' }).click();
  await expect(newest.getByTestId('verified')).toContainText('verified', { timeout: 60_000 });
});

test('restores outside the allowed directories and production restores are refused', async ({ page }) => {
  await login(page, admin.email, admin.password);
  const sources = await (await page.request.get('/api/sources')).json();
  const source = sources.sources.find((s: { restorePoints: number }) => s.restorePoints > 0);
  expect(source).toBeTruthy();
  const points = await (await page.request.get(`/api/sources/${source.id}/restore-points`)).json();
  const res = await page.request.post(`/api/restore-points/${points.restorePoints[0].id}/restore`, { data: { targetPath: '/etc' } });
  expect(res.status()).toBe(400);
  expect((await res.json()).error.fields.targetPath).toMatch(/allowed restore directories/);

  const targets = await (await page.request.get('/api/storage-targets')).json();
  const local = targets.storageTargets.find((t: { name: string }) => t.name === 'local');
  const prod = await page.request.post('/api/sources', {
    data: { name: unique('prod'), kind: 'filesystem', environment: 'production', storageTargetId: local.id, config: { paths: [mkdtempSync(join(tmpdir(), 'lifeboat-e2e-prod-'))] } },
  });
  expect(prod.status()).toBe(201);
  const prodId = (await prod.json()).source.id;
  const job = await page.request.post(`/api/sources/${prodId}/backup`, { data: {} });
  expect(job.status()).toBe(202);
  const { jobRunId } = await job.json();
  await expect.poll(async () => (await (await page.request.get(`/api/jobs/${jobRunId}`)).json()).jobRun.status, { timeout: 60_000 }).toBe('succeeded');
  const prodPoints = await (await page.request.get(`/api/sources/${prodId}/restore-points`)).json();
  const refused = await page.request.post(`/api/restore-points/${prodPoints.restorePoints[0].id}/restore`, { data: { targetPath: join(process.env.LIFEBOAT_DATA_DIR!, 'restores', 'prod') } });
  expect(refused.status()).toBe(409);
  expect((await refused.json()).error.message).toMatch(/approval/);
});

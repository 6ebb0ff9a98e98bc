// The walking skeleton's journey: admin signs in, sees the empty dashboard, adds an S3 target on the test
// RADOS Gateway, checks it and sees the result arrive without a reload; a viewer cannot do admin things.
import { expect, test } from '@playwright/test';
import { admin, login, s3Env, unique } from './helpers';

test('admin: empty dashboard, add an S3 target, check it live', async ({ page }) => {
  await login(page, admin.email, admin.password);
  await expect(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
  await expect(page.getByTestId('empty-dashboard')).toBeVisible();

  await page.getByRole('navigation').getByRole('link', { name: 'Storage' }).click();
  await expect(page.getByTestId('target-local')).toBeVisible(); // the embedded default target

  const s3 = s3Env();
  const name = unique('rgw');
  const form = page.getByTestId('add-target-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Endpoint').fill(s3.endpoint);
  await form.getByLabel('Region').fill(s3.region);
  await form.getByLabel('Bucket').fill(name.toLowerCase());
  await form.getByLabel('Access key id').fill(s3.accessKeyId);
  await form.getByLabel('Secret access key').fill(s3.secretAccessKey);
  await form.getByRole('button', { name: 'Add storage target' }).click();

  const row = page.getByTestId(`target-${name}`);
  await expect(row).toBeVisible();
  await expect(row.getByTestId('last-check')).toContainText('never checked');
  await row.getByRole('button', { name: 'Check' }).click();
  await expect(row.getByTestId('last-check')).toContainText('OK', { timeout: 30_000 });
  await expect(row.getByTestId('last-check')).toContainText(/\d+ ms/);
  await expect(page.getByText(s3.secretAccessKey)).toHaveCount(0);

  // The default local directory target round-trips too.
  const local = page.getByTestId('target-local');
  await local.getByRole('button', { name: 'Check' }).click();
  await expect(local.getByTestId('last-check')).toContainText('OK', { timeout: 30_000 });

  await page.getByRole('navigation').getByRole('link', { name: 'Jobs' }).click();
  await expect(page.getByTestId('job-runs')).toContainText('check storage target');
  await expect(page.getByTestId('job-runs')).toContainText('succeeded');
});

test('a failing target shows the failure and its reason', async ({ page }) => {
  await login(page, admin.email, admin.password);
  await page.goto('/storage');
  const s3 = s3Env();
  const name = unique('badkey');
  const form = page.getByTestId('add-target-form');
  await form.getByLabel('Name').fill(name);
  await form.getByLabel('Endpoint').fill(s3.endpoint);
  await form.getByLabel('Bucket').fill(name.toLowerCase());
  await form.getByLabel('Access key id').fill(s3.accessKeyId);
  await form.getByLabel('Secret access key').fill('wrong-secret');
  await form.getByRole('button', { name: 'Add storage target' }).click();
  const row = page.getByTestId(`target-${name}`);
  await row.getByRole('button', { name: 'Check' }).click();
  await expect(row.getByTestId('last-check')).toContainText('Failed', { timeout: 30_000 });
});

test('the add-target form shows field-level errors for bad input', async ({ page }) => {
  await login(page, admin.email, admin.password);
  await page.goto('/storage');
  const form = page.getByTestId('add-target-form');
  await form.getByLabel('Name').fill('x');
  await form.getByLabel('Endpoint').fill('not a url');
  await form.getByLabel('Bucket').fill('Bad_Bucket');
  await form.getByRole('button', { name: 'Add storage target' }).click();
  await expect(form.getByTestId('error-endpoint')).toContainText('http(s) URL');
  await expect(form.getByTestId('error-bucket')).toContainText('lowercase');
  await expect(form.getByTestId('error-accessKeyId')).toContainText('required');
});

test('a viewer sees no admin actions and the API answers 403', async ({ page, browser }) => {
  await login(page, admin.email, admin.password);
  await page.goto('/users');
  const email = `${unique('viewer')}@lifeboat.test`;
  const password = 'viewer-password-123';
  const form = page.getByTestId('add-user-form');
  await form.getByLabel('E-mail').fill(email);
  await form.getByLabel('Name').fill('Vera Viewer');
  await form.getByLabel('Role').selectOption('viewer');
  await form.getByLabel(/Initial password/).fill(password);
  await form.getByRole('button', { name: 'Add user' }).click();
  await expect(page.getByTestId('users')).toContainText(email);

  const viewerContext = await browser.newContext();
  const viewer = await viewerContext.newPage();
  await login(viewer, email, password);
  await expect(viewer.getByTestId('who')).toContainText('viewer');
  await expect(viewer.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await viewer.goto('/storage');
  await expect(viewer.getByTestId('target-local')).toBeVisible();
  await expect(viewer.getByTestId('add-target-form')).toHaveCount(0);
  await expect(viewer.getByRole('button', { name: 'Check' })).toHaveCount(0);
  await viewer.goto('/users');
  await expect(viewer.getByRole('heading', { name: 'Not allowed' })).toBeVisible();

  const post = await viewer.request.post('/api/storage-targets', { data: { kind: 'local', name: 'sneaky', path: '/tmp/sneaky' } });
  expect(post.status()).toBe(403);
  expect((await post.json()).error.code).toBe('forbidden');
  const users = await viewer.request.get('/api/users');
  expect(users.status()).toBe(403);
  await viewerContext.close();
});

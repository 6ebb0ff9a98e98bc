import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const admin = {
  email: process.env.LIFEBOAT_ADMIN_EMAIL ?? 'admin@lifeboat.test',
  password: process.env.LIFEBOAT_ADMIN_PASSWORD ?? 'admin-password-for-tests',
};

export function s3Env() {
  const endpoint = process.env.LIFEBOAT_TEST_S3_ENDPOINT;
  const accessKeyId = process.env.LIFEBOAT_TEST_S3_ACCESS_KEY_ID;
  const secretAccessKey = process.env.LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY;
  if (!endpoint || !accessKeyId || !secretAccessKey) throw new Error('LIFEBOAT_TEST_S3_* are not set: run through `npm test`, which starts a RADOS Gateway');
  return { endpoint, accessKeyId, secretAccessKey, region: process.env.LIFEBOAT_TEST_S3_REGION ?? 'us-east-1' };
}

export async function login(page: Page, email: string, password: string) {
  await page.goto('/login');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('who')).toBeVisible();
}

/** Signs an API request context in through next-auth's credentials endpoint (CSRF token + cookie). */
export async function apiLogin(request: APIRequestContext, email: string, password: string) {
  const { csrfToken } = await (await request.get('/api/auth/csrf')).json();
  const res = await request.post('/api/auth/callback/credentials', { form: { csrfToken, email, password, json: 'true' } });
  expect(res.ok()).toBeTruthy();
  const session = await (await request.get('/api/auth/session')).json();
  expect(session?.user?.email).toBe(email);
}

export const unique = (prefix: string) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/**
 * An S3 storage target on the test RADOS Gateway, created and checked through the API (the check creates its
 * bucket), with the LIFEBOAT_* environment a CLI on the database's side (archive_command, a binlog-push cron
 * line) uses to reach the same repository.
 */
export async function s3TargetWithRepository(api: APIRequestContext, prefix: string) {
  const s3 = s3Env();
  const targetName = unique(prefix);
  const created = await api.post('/api/storage-targets', { data: { kind: 's3', name: targetName, endpoint: s3.endpoint, region: s3.region, bucket: targetName.toLowerCase(), accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  expect(created.status()).toBe(201);
  const target = (await created.json()).storageTarget as { id: string };
  const check = (await (await api.post(`/api/storage-targets/${target.id}/check`)).json()).jobRunId;
  await expect.poll(async () => (await (await api.get(`/api/jobs/${check}`)).json()).jobRun.status, { timeout: 60_000 }).toBe('succeeded');
  const repoPassword = (await (await api.post(`/api/storage-targets/${target.id}/repository-password`)).json()).password as string;
  const env = {
    LIFEBOAT_REPOSITORY: `s3://${targetName.toLowerCase()}`,
    LIFEBOAT_S3_ENDPOINT: s3.endpoint,
    LIFEBOAT_S3_REGION: s3.region,
    LIFEBOAT_S3_ACCESS_KEY_ID: s3.accessKeyId,
    LIFEBOAT_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    LIFEBOAT_PASSWORD: repoPassword,
    LIFEBOAT_CACHE_DIR: 'off',
  };
  return { targetName, target, env };
}

/**
 * "Restore to a point in time…" on a source page: the moment (the browser must run in UTC), the database the
 * form proposes, a new name; waits for the job's progress bar, then for its result, which it returns.
 */
export async function restoreToMoment(page: Page, moment: Date, database: string, newName: string, timeout: number) {
  const pitr = page.getByTestId('pitr-restore');
  await pitr.getByRole('button', { name: 'Restore to a point in time…' }).click();
  await pitr.getByLabel('Recover to').fill(moment.toISOString().slice(0, 19));
  await expect(pitr.getByLabel('Database to recover')).toHaveValue(database);
  await pitr.getByLabel('New database name').fill(newName);
  await pitr.getByRole('button', { name: 'Recover', exact: true }).click();
  await expect(pitr.getByTestId('job-progress')).toBeVisible();
  const result = pitr.getByTestId('pitr-result');
  await expect(result).toBeVisible({ timeout });
  return result;
}

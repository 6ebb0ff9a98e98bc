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

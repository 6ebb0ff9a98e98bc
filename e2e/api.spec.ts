// Table-driven API checks against the running console: authentication, permissions per role, validation
// (400 with field messages), conflicts and not-found, all in the one error shape.
import { expect, request as playwrightRequest, test, type APIRequestContext } from '@playwright/test';
import { admin, apiLogin, unique } from './helpers';

const baseURL = process.env.LIFEBOAT_TEST_BASE_URL!;
const contexts: Record<string, APIRequestContext> = {};

test.beforeAll(async () => {
  contexts.anonymous = await playwrightRequest.newContext({ baseURL });
  contexts.admin = await playwrightRequest.newContext({ baseURL });
  await apiLogin(contexts.admin, admin.email, admin.password);
  for (const role of ['viewer', 'operator'] as const) {
    const email = `${unique(role)}@lifeboat.test`;
    const res = await contexts.admin.post('/api/users', { data: { email, name: role, role, password: `${role}-password-123` } });
    expect(res.status()).toBe(201);
    contexts[role] = await playwrightRequest.newContext({ baseURL });
    await apiLogin(contexts[role], email, `${role}-password-123`);
  }
});

test.afterAll(async () => {
  for (const c of Object.values(contexts)) await c.dispose();
});

async function localTargetId(): Promise<string> {
  const list = await (await contexts.admin!.get('/api/storage-targets')).json();
  return list.storageTargets.find((t: { name: string }) => t.name === 'local').id;
}

const permissionTable: { who: string; method: 'get' | 'post'; path: string | (() => Promise<string>); body?: unknown; status: number }[] = [
  { who: 'anonymous', method: 'get', path: '/api/storage-targets', status: 401 },
  { who: 'anonymous', method: 'get', path: '/api/jobs', status: 401 },
  { who: 'anonymous', method: 'post', path: '/api/users', body: {}, status: 401 },
  { who: 'viewer', method: 'get', path: '/api/storage-targets', status: 200 },
  { who: 'viewer', method: 'get', path: '/api/jobs', status: 200 },
  { who: 'viewer', method: 'post', path: '/api/storage-targets', body: { kind: 'local', name: 'v', path: '/tmp/v' }, status: 403 },
  { who: 'viewer', method: 'post', path: async () => `/api/storage-targets/${await localTargetId()}/check`, status: 403 },
  { who: 'viewer', method: 'get', path: '/api/users', status: 403 },
  { who: 'operator', method: 'post', path: '/api/storage-targets', body: { kind: 'local', name: 'o', path: '/tmp/o' }, status: 403 },
  { who: 'operator', method: 'post', path: async () => `/api/storage-targets/${await localTargetId()}/check`, status: 202 },
  { who: 'operator', method: 'get', path: '/api/users', status: 403 },
  { who: 'admin', method: 'get', path: '/api/users', status: 200 },
];

for (const row of permissionTable) {
  test(`${row.who} ${row.method.toUpperCase()} ${typeof row.path === 'string' ? row.path : 'check target'} -> ${row.status}`, async () => {
    const path = typeof row.path === 'string' ? row.path : await row.path();
    const ctx = contexts[row.who]!;
    const res = row.method === 'get' ? await ctx.get(path) : await ctx.post(path, { data: row.body });
    expect(res.status()).toBe(row.status);
    if (row.status >= 400) expect((await res.json()).error.code).toMatch(/unauthenticated|forbidden/);
  });
}

const validationTable: { name: string; body: unknown; fields: Record<string, RegExp> }[] = [
  { name: 'missing kind', body: { name: 'x' }, fields: { kind: /s3|local/ } },
  { name: 'relative local path', body: { kind: 'local', name: 'x', path: 'relative/dir' }, fields: { path: /absolute/ } },
  { name: 'bad s3 fields', body: { kind: 's3', name: '', endpoint: 'ftp://x', bucket: 'A', accessKeyId: '', secretAccessKey: '' }, fields: { name: /required/, endpoint: /http/, bucket: /lowercase/, accessKeyId: /required/, secretAccessKey: /required/ } },
  { name: 'prefix escaping', body: { kind: 's3', name: 'p', bucket: 'bucket-p', prefix: '../up', accessKeyId: 'a', secretAccessKey: 'b' }, fields: { prefix: /\.\./ } },
];

for (const row of validationTable) {
  test(`POST /api/storage-targets rejects ${row.name} with field messages`, async () => {
    const res = await contexts.admin!.post('/api/storage-targets', { data: row.body });
    expect(res.status()).toBe(400);
    const body = await res.json();
    expect(body.error.code).toBe('validation_failed');
    for (const [field, re] of Object.entries(row.fields)) expect(body.error.fields[field]).toMatch(re);
  });
}

test('malformed JSON is a 400, not a 500', async () => {
  const res = await contexts.admin!.post('/api/storage-targets', { headers: { 'content-type': 'application/json' }, data: Buffer.from('{"kind": ') });
  expect(res.status()).toBe(400);
  expect((await res.json()).error.message).toContain('not valid JSON');
});

test('duplicate names are a 409 naming the field; user validation is field-level', async () => {
  const name = unique('dup');
  const first = await contexts.admin!.post('/api/storage-targets', { data: { kind: 'local', name, path: `/tmp/${name}` } });
  expect(first.status()).toBe(201);
  const second = await contexts.admin!.post('/api/storage-targets', { data: { kind: 'local', name, path: `/tmp/${name}` } });
  expect(second.status()).toBe(409);
  expect((await second.json()).error.fields).toHaveProperty('name');

  const user = await contexts.admin!.post('/api/users', { data: { email: 'nope', name: '', role: 'root', password: 'short' } });
  expect(user.status()).toBe(400);
  const fields = (await user.json()).error.fields;
  expect(Object.keys(fields).sort()).toEqual(['email', 'name', 'password', 'role']);
});

test('unknown ids are 404; secrets never come back', async () => {
  expect((await contexts.admin!.post('/api/storage-targets/nope/check')).status()).toBe(404);
  expect((await contexts.admin!.get('/api/jobs/nope')).status()).toBe(404);
  const name = unique('secret');
  const created = await contexts.admin!.post('/api/storage-targets', {
    data: { kind: 's3', name, endpoint: 'http://127.0.0.1:1', bucket: 'bucket-secret', accessKeyId: 'AK', secretAccessKey: 'very-secret-value' },
  });
  expect(created.status()).toBe(201);
  expect(await created.text()).not.toContain('very-secret-value');
  expect(await (await contexts.admin!.get('/api/storage-targets')).text()).not.toContain('very-secret-value');
});

test('a check job is queued at once and its progress is readable until it ends', async () => {
  const res = await contexts.operator!.post(`/api/storage-targets/${await localTargetId()}/check`);
  expect(res.status()).toBe(202);
  const { jobRunId } = await res.json();
  await expect
    .poll(async () => (await (await contexts.operator!.get(`/api/jobs/${jobRunId}`)).json()).jobRun.status, { timeout: 20_000 })
    .toBe('succeeded');
  const run = (await (await contexts.operator!.get(`/api/jobs/${jobRunId}`)).json()).jobRun;
  expect(run.progress).toBe(1);
  expect(run.result.ok).toBe(true);
  expect(run.result.latencyMs.total).toBeGreaterThan(0);
});

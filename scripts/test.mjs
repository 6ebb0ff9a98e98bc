// `npm test`: the whole suite against real services, from a fresh clone. Starts what it needs (a fresh
// catalog database, its own Redis, a Ceph RADOS Gateway for S3, Chromium), runs the unit/integration
// suite (vitest) and the browser/API journeys (Playwright against `next start` + a worker), stops what it
// started and ends with one line "N passed, N failed".
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConsole, ensureDependencies, generatePrismaClient, loadOrCreateSecrets, migrate, run, say, spawnService } from './setup/steps.mjs';

const cleanups = [];
const timings = {};
async function timed(name, fn) {
  const t = Date.now();
  try {
    return await fn();
  } finally {
    timings[name] = ((Date.now() - t) / 1000).toFixed(1) + ' s';
  }
}
async function cleanup() {
  for (const c of cleanups.reverse()) await c().catch((e) => say(`cleanup: ${e.message}`));
  cleanups.length = 0;
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

const only = process.argv[2]; // optional: "unit" or "e2e"
const filters = process.argv.slice(3); // optional, after "unit" or "e2e": file or test filters for that runner
const work = mkdtempSync(join(tmpdir(), 'lifeboat-test-'));
cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
const log = (m) => say(m);

function counts(file, pick) {
  if (!existsSync(file)) return { passed: 0, failed: 1, note: `no results file ${file}` };
  return pick(JSON.parse(readFileSync(file, 'utf8')));
}

function startProcess(name, bin, args, env) {
  let tail = '';
  const output = (d) => {
    tail = (tail + d).slice(-20000);
    if (process.env.LIFEBOAT_TEST_VERBOSE) process.stderr.write(d);
  };
  const service = spawnService(name, bin, args, { env, output, graceMs: 10_000 });
  cleanups.push(() => service.stop());
  return { tail: () => tail };
}

async function waitForHttp(url, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try { if ((await fetch(url)).ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${what} did not answer ${url} within ${ms / 1000}s`);
}

let exitCode = 1;
try {
  const t0 = Date.now();
  await timed('dependencies', ensureDependencies);
  const { ensurePostgres, createDatabase, dropDatabase } = await import('./services/postgres.mjs');
  const { ensureRedis } = await import('./services/redis.mjs');
  const { startRgw } = await import('./services/rgw.mjs');
  const { ensureChromium } = await import('./services/chromium.mjs');
  const { freePort } = await import('./services/util.mjs');

  // The gateway takes longest: start it first and let the rest happen meanwhile.
  const rgwPromise = timed('rados gateway', () => startRgw({ dataDir: join(work, 'rgw'), port: undefined, log }));
  rgwPromise.then((rgw) => cleanups.push(() => rgw.stop()), () => {});

  const pg = await timed('postgres', async () =>
    ensurePostgres({ url: process.env.DATABASE_URL || 'postgresql://postgres@127.0.0.1:5432/postgres', dataDir: join(work, 'postgres'), port: await freePort(), log }),
  );
  if (pg.started) cleanups.push(pg.stop);
  // One catalog for the vitest half and a fresh one for the browser half, so neither sees the other's rows.
  const freshDatabase = async (half) => {
    const name = `lifeboat_test_${process.pid}_${Date.now().toString(36)}_${half}`;
    await createDatabase(pg.url, name);
    cleanups.push(() => dropDatabase(pg.url, name));
    return Object.assign(new URL(pg.url), { pathname: '/' + name }).toString();
  };
  const databaseUrl = await freshDatabase('unit');

  const redis = await timed('redis', async () => ensureRedis({ url: undefined, dataDir: join(work, 'redis'), port: await freePort(), log }));
  cleanups.push(redis.stop);

  const env = {
    ...process.env,
    ...loadOrCreateSecrets(join(work, 'data')),
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    LIFEBOAT_DATA_DIR: join(work, 'data'),
    LIFEBOAT_CACHE_DIR: join(work, 'cache'),
    LIFEBOAT_ADMIN_EMAIL: 'admin@lifeboat.test',
    LIFEBOAT_ADMIN_PASSWORD: 'admin-password-for-tests',
    LIFEBOAT_REQUIRE_S3: '1',
    NEXT_TELEMETRY_DISABLED: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LOG_LEVEL: 'warn',
  };
  await timed('prisma generate', generatePrismaClient);
  const prepareCatalog = async (e) => {
    await timed('migrate', () => migrate(e));
    await timed('seed', () => run('npx', ['tsx', 'scripts/db/seed.ts'], { env: e, quiet: true }));
  };
  await prepareCatalog(env);

  const rgw = await rgwPromise;
  Object.assign(env, {
    LIFEBOAT_TEST_S3_ENDPOINT: rgw.endpoint,
    LIFEBOAT_TEST_S3_REGION: rgw.region,
    LIFEBOAT_TEST_S3_ACCESS_KEY_ID: rgw.accessKeyId,
    LIFEBOAT_TEST_S3_SECRET_ACCESS_KEY: rgw.secretAccessKey,
  });

  const results = [];
  if (only !== 'e2e') {
    const typecheck = await timed('typecheck', () => run('npx', ['tsc', '--noEmit', '-p', '.'], { env, quiet: true }).then(() => null, (e) => e.message));
    if (typecheck) say(typecheck);
    results.push(['typecheck', { passed: typecheck ? 0 : 1, failed: typecheck ? 1 : 0 }]);
    const out = join(work, 'vitest.json');
    await timed('vitest', () =>
      run('npx', ['vitest', 'run', ...filters, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`], { env }).catch((e) => say(e.message)),
    );
    results.push(['vitest', counts(out, (r) => ({ passed: r.numPassedTests, failed: r.numFailedTests + (r.numTotalTests === 0 ? 1 : 0) + (r.success ? 0 : r.numFailedTests === 0 ? 1 : 0) }))]);
  }
  if (only !== 'unit') {
    try {
      await timed('chromium', () => ensureChromium({ log }));
      const port = await freePort();
      const baseUrl = `http://127.0.0.1:${port}`;
      Object.assign(env, { NEXTAUTH_URL: baseUrl, LIFEBOAT_TEST_BASE_URL: baseUrl });
      if (only !== 'e2e') {
        env.DATABASE_URL = await freshDatabase('e2e');
        env.LIFEBOAT_DATA_DIR = join(work, 'data-e2e');
        await prepareCatalog(env);
      }
      await timed('next build', () => buildConsole(env));
      const worker = startProcess('worker', 'tsx', ['worker/main.ts'], env);
      const web = startProcess('console', 'next', ['start', '--hostname', '127.0.0.1', '--port', String(port)], env);
      await waitForHttp(`${baseUrl}/api/health`, 60_000, 'the console').catch((e) => { throw new Error(`${e.message}\n${web.tail()}\n${worker.tail()}`); });
      const out = join(work, 'playwright.json');
      await timed('playwright', () =>
        run('npx', ['playwright', 'test', ...filters], { env: { ...env, PLAYWRIGHT_JSON_OUTPUT_NAME: out } }).catch((e) => say(e.message)),
      );
      results.push(['playwright', counts(out, (r) => ({ passed: r.stats.expected, failed: r.stats.unexpected + r.stats.flaky + (r.stats.expected === 0 ? 1 : 0) }))]);
    } catch (err) {
      say(`browser tests could not run: ${err instanceof Error ? err.message : err}`);
      results.push(['playwright', { passed: 0, failed: 1, note: 'could not run' }]);
    }
  }
  const passed = results.reduce((n, [, c]) => n + c.passed, 0);
  const failed = results.reduce((n, [, c]) => n + c.failed, 0);
  say(`timings: ${Object.entries(timings).map(([k, v]) => `${k} ${v}`).join(', ')}; total ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  for (const [name, c] of results) say(`${name}: ${c.passed} passed, ${c.failed} failed${c.note ? ' (' + c.note + ')' : ''}`);
  await cleanup();
  console.log(`${passed} passed, ${failed} failed`);
  exitCode = failed === 0 && passed > 0 ? 0 : 1;
} catch (err) {
  console.error(`[lifeboat] test run failed: ${err instanceof Error ? err.stack : err}`);
  await cleanup();
}
process.exit(exitCode);

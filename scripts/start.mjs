// `npm start`: everything from a fresh clone. Installs dependencies, uses Postgres/Redis at DATABASE_URL /
// REDIS_URL when reachable (otherwise starts its own under LIFEBOAT_DATA_DIR), migrates, seeds, builds,
// then runs the console on 127.0.0.1:PORT and one worker. Ctrl-C stops everything it started.
import { resolve, join } from 'node:path';
import { buildConsole, ensureDependencies, generatePrismaClient, loadOrCreateSecrets, migrate, root, run, say, spawnService } from './setup/steps.mjs';

const started = [];
let stopping = false;

async function stopAll(code) {
  if (stopping) return;
  stopping = true;
  say('stopping…');
  for (const s of started.reverse()) await s.stop().catch((e) => say(`could not stop ${s.name}: ${e.message}`));
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

function checkPort(raw) {
  const port = Number(raw ?? 3000);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error(`Configuration error: PORT is malformed: expected a TCP port number (1-65535), got "${raw}"`);
    process.exit(2);
  }
  return port;
}

function startChild(name, bin, args, env) {
  const service = spawnService(name, bin, args, { env, graceMs: 70_000 });
  started.push(service);
  service.child.on('exit', (code, signal) => {
    if (!stopping) {
      say(`${name} exited (${signal ?? code}); stopping everything`);
      void stopAll(1);
    }
  });
}

async function waitForHealth(url, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`the console did not answer ${url} within ${ms / 1000}s`);
}

try {
  const t0 = Date.now();
  const port = checkPort(process.env.PORT);
  const dataDir = resolve(process.env.LIFEBOAT_DATA_DIR || join(root, '.lifeboat'));
  await ensureDependencies();
  const { ensurePostgres } = await import('./services/postgres.mjs');
  const { ensureRedis } = await import('./services/redis.mjs');
  const log = (m) => say(m);
  const pg = await ensurePostgres({ url: process.env.DATABASE_URL, dataDir: join(dataDir, 'postgres'), port: 54329, log });
  if (pg.started) started.push({ name: 'postgres', stop: pg.stop });
  const redis = await ensureRedis({ url: process.env.REDIS_URL, dataDir: join(dataDir, 'redis'), port: 63799, log });
  if (redis.started) started.push({ name: 'redis', stop: redis.stop });
  say(`catalog ${pg.url.replace(/:[^:@/]*@/, ':***@')} · queue ${redis.url}`);

  const env = {
    ...process.env,
    ...loadOrCreateSecrets(dataDir),
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    LIFEBOAT_DATA_DIR: dataDir,
    LIFEBOAT_CACHE_DIR: process.env.LIFEBOAT_CACHE_DIR || join(dataDir, 'cache'),
    NEXTAUTH_URL: process.env.NEXTAUTH_URL || `http://127.0.0.1:${port}`,
    NEXT_TELEMETRY_DISABLED: '1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  await generatePrismaClient();
  await migrate(env);
  const seedOutput = await run('npx', ['tsx', 'scripts/db/seed.ts'], { env, quiet: true });
  const adminLine = seedOutput.split('\n').find((l) => l.startsWith('Admin login:'));
  await buildConsole(env);

  startChild('worker', 'tsx', ['worker/main.ts'], env);
  startChild('console', 'next', ['start', '--hostname', '127.0.0.1', '--port', String(port)], env);
  await waitForHealth(`http://127.0.0.1:${port}/api/health`, 60_000);
  say(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s: open ${env.NEXTAUTH_URL} (Ctrl-C stops everything)`);
  say(adminLine ?? `sign in as the admin created at first start (${process.env.LIFEBOAT_ADMIN_EMAIL || 'admin@lifeboat.local'}; its password was printed then, or is LIFEBOAT_ADMIN_PASSWORD)`);
  if (adminLine) say('this password is shown only once: keep it');
} catch (err) {
  console.error(`[lifeboat] start failed: ${err instanceof Error ? err.message : err}`);
  await stopAll(1);
}

// Shared steps of `npm start` and `npm test`, plain Node (they run before dependencies exist):
// install npm dependencies when missing or stale, keep generated secrets, generate the Prisma client,
// migrate, and build the console only when its sources changed since the last build.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

export function say(line) {
  process.stdout.write(`[lifeboat] ${line}\n`);
}

/** Runs a command with inherited output; rejects with a message naming the command and its exit code. */
export function run(cmd, args, { env = process.env, quiet = false, cwd = root } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('error', (err) => reject(new Error(`${cmd} could not start: ${err.message}`)));
    child.on('exit', (code, signal) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? 'exit ' + code})${quiet ? '\n' + output.slice(-4000) : ''}`));
    });
  });
}

/** npm ci when node_modules is missing or older than package-lock.json. */
export async function ensureDependencies() {
  const marker = join(root, 'node_modules/.package-lock.json');
  const lock = join(root, 'package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return false;
  say('installing npm dependencies (npm ci)…');
  await run('npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, npm_config_loglevel: 'error' } });
  return true;
}

/** Secrets generated once per data directory (mode 600) unless given in the environment. */
export function loadOrCreateSecrets(dataDir) {
  mkdirSync(dataDir, { recursive: true });
  const file = join(dataDir, 'secrets.json');
  let saved = {};
  if (existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8'));
  const secrets = {
    LIFEBOAT_SECRET_KEY: process.env.LIFEBOAT_SECRET_KEY || saved.LIFEBOAT_SECRET_KEY || randomBytes(32).toString('base64'),
    NEXTAUTH_SECRET: process.env.NEXTAUTH_SECRET || saved.NEXTAUTH_SECRET || randomBytes(32).toString('base64url'),
  };
  if (secrets.LIFEBOAT_SECRET_KEY !== saved.LIFEBOAT_SECRET_KEY || secrets.NEXTAUTH_SECRET !== saved.NEXTAUTH_SECRET) {
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}

export async function generatePrismaClient() {
  const out = join(root, 'lib/db/generated/client.ts');
  const schema = join(root, 'prisma/schema.prisma');
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(schema).mtimeMs) return;
  say('generating the Prisma client…');
  await run('npx', ['prisma', 'generate'], { env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: '/bin/false' }, quiet: true });
}

export async function migrate(env) {
  await run('npx', ['tsx', 'scripts/db/migrate.ts', 'deploy'], { env });
}

const buildInputs = ['app', 'components', 'lib', 'proxy.ts', 'instrumentation.ts', 'next.config.ts', 'package-lock.json', 'tsconfig.json'];

function fingerprint() {
  const hash = createHash('sha256');
  const walk = (p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isDirectory()) for (const name of readdirSync(p).sort()) walk(join(p, name));
    else hash.update(`${p}:${st.size}:${st.mtimeMs}\n`);
  };
  for (const input of buildInputs) walk(join(root, input));
  return hash.digest('hex');
}

/** next build, skipped when nothing the build reads has changed since the last successful one. */
export async function buildConsole(env) {
  const stamp = join(root, '.next/lifeboat-build-fingerprint');
  const fp = fingerprint();
  if (existsSync(join(root, '.next/BUILD_ID')) && existsSync(stamp) && readFileSync(stamp, 'utf8') === fp) return false;
  say('building the console (next build)…');
  await run('npx', ['next', 'build'], { env: { ...env, NEXT_TELEMETRY_DISABLED: '1' }, quiet: true });
  writeFileSync(stamp, fp);
  return true;
}

/**
 * Starts a long-running child (console, worker) in its own process group, from node_modules/.bin directly
 * (npx does not pass signals on). stop() sends SIGTERM to the whole group, then SIGKILL after graceMs.
 */
export function spawnService(name, bin, args, { env, output = 'inherit', graceMs = 15_000 } = {}) {
  const child = spawn(join(root, 'node_modules/.bin', bin), args, {
    cwd: root,
    env,
    detached: true,
    stdio: output === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
  if (output !== 'inherit') {
    child.stdout.on('data', output);
    child.stderr.on('data', output);
  }
  const exited = child.exitCode !== null ? Promise.resolve() : once(child, 'exit');
  const signalGroup = (sig) => {
    try {
      process.kill(-child.pid, sig);
    } catch {}
  };
  process.on('exit', () => signalGroup('SIGKILL'));
  return {
    name,
    child,
    exited,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return signalGroup('SIGKILL');
      signalGroup('SIGTERM');
      const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      signalGroup('SIGKILL'); // anything the child left behind in its group
    },
  };
}

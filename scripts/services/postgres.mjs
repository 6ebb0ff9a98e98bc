// PostgreSQL for `npm start` / `npm test`.
// Contract:
//   ensurePostgres({ url?, dataDir, port = 54329, log? }) -> { url, started, stop }
//     - url given and answering `select 1` -> { url, started: false, stop: no-op }
//     - otherwise runs its own cluster in <dataDir>/data (initdb once, reused later), listening only on
//       127.0.0.1:<port>, socket in <dataDir>/socket, log <dataDir>/postgres.log, trust auth, database
//       `lifeboat` created if missing -> { url: postgresql://postgres@127.0.0.1:PORT/lifeboat, started: true,
//       stop: pg_ctl stop -m fast }. If that cluster is already running (e.g. another process started it)
//       it is reused with started: false. As root, initdb/pg_ctl run as the `postgres` OS user.
//     - extraConf: more postgresql.conf lines (e.g. archive_mode), rewritten with the rest on every start
//     - server binaries missing: apt-get install postgresql-15 (root) or an Error saying what to install.
//   createDatabase(url, name) -> url of the new database (no error if it exists)
//   dropDatabase(url, name)   -> DROP DATABASE IF EXISTS name WITH (FORCE)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { aptInstall, isPortFree, isRoot, makeLog, onExit, run, tailFile, which } from './util.mjs';

const PG_USER = 'postgres';

async function probe(url, timeoutMs = 3000) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (e) {
    return e;
  } finally {
    await client.end().catch(() => {});
  }
}

const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

function findBinDir() {
  const root = '/usr/lib/postgresql';
  let versions = [];
  try {
    versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  } catch {
    /* none */
  }
  if (versions.includes('15')) versions = ['15', ...versions.filter((v) => v !== '15')];
  for (const v of versions) {
    const dir = path.join(root, v, 'bin');
    if (fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'))) return dir;
  }
  return null;
}

async function ensureBinDir(L) {
  let dir = findBinDir();
  if (dir) return dir;
  if (!isRoot()) {
    throw new Error('PostgreSQL server binaries (initdb, pg_ctl) were not found under /usr/lib/postgresql/*/bin; install them with `sudo apt-get install -y postgresql-15` or set DATABASE_URL to a reachable server.');
  }
  try {
    await aptInstall(['postgresql-15'], { log: L });
  } catch (e) {
    L.warn(`installing postgresql-15 failed (${e.message.split('\n')[0]}); trying package postgresql`);
    await aptInstall(['postgresql'], { log: L });
  }
  dir = findBinDir();
  if (!dir) throw new Error('PostgreSQL was installed with apt but no initdb/pg_ctl was found under /usr/lib/postgresql/*/bin');
  return dir;
}

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(name)}`;
  return u.toString();
}

async function adminClient(url, name) {
  // Connect to a maintenance database on the same server (never to `name` itself).
  let lastErr;
  for (const db of ['postgres', 'template1']) {
    if (db === name) continue;
    const client = new pg.Client({ connectionString: withDatabase(url, db), connectionTimeoutMillis: 5000 });
    client.on('error', () => {});
    try {
      await client.connect();
      return client;
    } catch (e) {
      lastErr = e;
      await client.end().catch(() => {});
      if (e.code !== '3D000') break; // only "database does not exist" is worth another try
    }
  }
  throw new Error(`could not connect to PostgreSQL at ${redact(url)} to manage database ${name}: ${lastErr?.message}`);
}

export async function createDatabase(url, name) {
  const client = await adminClient(url, name);
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`).catch((e) => {
        if (e.code !== '42P04' && e.code !== '23505') throw e; // created concurrently by someone else
      });
    }
  } catch (e) {
    throw new Error(`could not create database ${name} on ${redact(url)}: ${e.message}`);
  } finally {
    await client.end().catch(() => {});
  }
  return withDatabase(url, name);
}

export async function dropDatabase(url, name) {
  const client = await adminClient(url, name);
  try {
    await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
  } catch (e) {
    throw new Error(`could not drop database ${name} on ${redact(url)}: ${e.message}`);
  } finally {
    await client.end().catch(() => {});
  }
}

function pidAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code !== 'ESRCH';
  }
}

function runningPort(pgdata) {
  // postmaster.pid line 4 is the port; only trust it if the pid is alive.
  try {
    const lines = fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    process.kill(pid, 0);
    return Number(lines[3]) || null;
  } catch {
    return null;
  }
}

export async function ensurePostgres({ url, dataDir, port = 54329, log, extraConf = '' } = {}) {
  const L = makeLog(log);
  if (url) {
    const err = await probe(url);
    if (!err) return { url, started: false, stop: async () => {} };
    L.warn(`PostgreSQL at ${redact(url)} is not reachable (${err.message}); starting a local cluster instead`);
  }
  if (!dataDir) throw new Error('ensurePostgres: no reachable url was given, so a dataDir is needed to run a local PostgreSQL cluster');
  dataDir = path.resolve(dataDir);
  const bin = await ensureBinDir(L);
  const asUser = isRoot() ? PG_USER : undefined;
  const pgdata = path.join(dataDir, 'data');
  const sockDir = path.join(dataDir, 'socket');
  const logFile = path.join(dataDir, 'postgres.log');
  const urlFor = (p) => `postgresql://postgres@127.0.0.1:${p}/lifeboat`;
  const pgRun = (cmd, args, opts = {}) => run(path.join(bin, cmd), args, { asUser, cwd: dataDir, ...opts });

  fs.mkdirSync(sockDir, { recursive: true });
  if (asUser) {
    const { uid, gid } = await pgUserIds();
    for (const p of [dataDir, sockDir]) fs.chownSync(p, uid, gid);
    if (fs.existsSync(logFile)) fs.chownSync(logFile, uid, gid);
    allowTraversal(dataDir, uid, gid, L);
    await run('test', ['-w', dataDir, '-a', '-x', dataDir], { asUser }).catch(() => {
      throw new Error(`the ${PG_USER} OS user cannot write to ${dataDir} (PostgreSQL refuses to run as root); make its parent directories searchable (chmod o+x) or pick another dataDir`);
    });
  }

  const reuse = async (p, why) => {
    const u = urlFor(p);
    const err = await probe(withDatabase(u, 'postgres'));
    if (err) return null;
    L.info(`reusing the PostgreSQL ${why} on 127.0.0.1:${p}`);
    await createDatabase(u, 'lifeboat');
    return { url: u, started: false, stop: async () => {} };
  };

  const already = runningPort(pgdata);
  if (already) {
    const r = await reuse(already, `already running from ${pgdata}`);
    if (r) return r;
  }

  if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
    // initdb into a private dir, then rename: safe if two processes race on the same dataDir.
    const tmp = path.join(dataDir, `data.init-${process.pid}`);
    for (const n of fs.readdirSync(dataDir)) {
      const pid = Number(/^data\.init-(\d+)$/.exec(n)?.[1]);
      if (pid && (pid === process.pid || !pidAlive(pid))) fs.rmSync(path.join(dataDir, n), { recursive: true, force: true });
    }
    L.info(`initdb ${pgdata}`);
    await pgRun('initdb', ['-D', tmp, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions']);
    fs.appendFileSync(path.join(tmp, 'postgresql.conf'), "\ninclude_if_exists = 'lifeboat.conf'\n");
    try {
      fs.renameSync(tmp, pgdata);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) throw new Error(`could not move the new cluster into ${pgdata}: ${e.message}`);
    }
  }

  const conf = path.join(pgdata, 'lifeboat.conf');
  fs.writeFileSync(conf, `# written by scripts/services/postgres.mjs on every start\nlisten_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${sockDir}'\n${extraConf}`);
  if (asUser) {
    const { uid, gid } = await pgUserIds();
    fs.chownSync(conf, uid, gid);
  }

  if (!(await isPortFree(port))) {
    const r = await reuse(port, 'already listening (started by another process)');
    if (r) return r;
    throw new Error(`cannot start PostgreSQL: port ${port} on 127.0.0.1 is already in use by something else; pass another port`);
  }

  // Registered before `pg_ctl start` so a Ctrl-C during start-up still stops the server.
  let starting = true;
  const stopSync = () => {
    // If `pg_ctl start` is still in flight, give the postmaster a moment to write its pid file first.
    const until = Date.now() + 3000;
    while (starting && !fs.existsSync(path.join(pgdata, 'postmaster.pid')) && Date.now() < until) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    }
    const args = [path.join(bin, 'pg_ctl'), '-D', pgdata, '-m', 'fast', '-w', 'stop'];
    spawnSync(asUser ? which('runuser') || 'runuser' : args[0], asUser ? ['-u', asUser, '--', ...args] : args.slice(1), { cwd: dataDir, stdio: 'ignore' });
  };
  const unregister = onExit(stopSync);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    unregister();
    await pgRun('pg_ctl', ['-D', pgdata, '-m', 'fast', '-w', 'stop'], { timeoutMs: 60_000 }).catch((e) => {
      if (runningPort(pgdata)) throw new Error(`could not stop PostgreSQL in ${pgdata}: ${e.message}`);
    });
  };

  const t0 = Date.now();
  try {
    await pgRun('pg_ctl', ['-D', pgdata, '-l', logFile, '-w', '-t', '60', 'start'], { timeoutMs: 90_000 });
  } catch (e) {
    starting = false;
    unregister(); // not ours to stop if another process won the race
    const p = runningPort(pgdata);
    const r = p && (await reuse(p, `another process started from ${pgdata} meanwhile`));
    if (r) return r;
    throw new Error(`PostgreSQL did not start from ${pgdata} on 127.0.0.1:${port}: ${e.message}\n--- ${logFile} ---\n${tailFile(logFile)}`);
  }
  starting = false;
  L.info(`PostgreSQL started on 127.0.0.1:${port} in ${((Date.now() - t0) / 1000).toFixed(1)}s (log ${logFile})`);

  try {
    const u = urlFor(port);
    await createDatabase(u, 'lifeboat');
    return { url: u, started: true, stop };
  } catch (e) {
    await stop().catch(() => {});
    throw e;
  }
}

// The postgres user must be able to reach dataDir. Parents inside the OS temp dir (e.g. a mkdtemp dir,
// mode 0700) get o+x (search only, no listing); anything else is left alone and reported.
function allowTraversal(dataDir, uid, gid, L) {
  const tmpRoot = fs.realpathSync(os.tmpdir());
  for (let d = path.dirname(dataDir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = fs.statSync(d);
    const ok = (st.uid === uid && st.mode & 0o100) || (st.gid === gid && st.mode & 0o010) || st.mode & 0o001;
    if (ok) continue;
    if (!fs.realpathSync(d).startsWith(`${tmpRoot}/`)) {
      throw new Error(`the ${PG_USER} OS user cannot reach ${dataDir} because ${d} is not searchable by others (PostgreSQL refuses to run as root); run chmod o+x ${d} or pick a dataDir elsewhere`);
    }
    fs.chmodSync(d, st.mode | 0o001);
    L.info(`chmod o+x ${d} so the ${PG_USER} user can reach ${dataDir}`);
  }
}

let ids;
async function pgUserIds() {
  if (!ids) {
    const out = await run('id', [PG_USER]).catch(() => {
      throw new Error(`the ${PG_USER} OS user does not exist (it comes with the postgresql-15 package); needed because PostgreSQL refuses to run as root`);
    });
    const uid = Number(/uid=(\d+)/.exec(out.stdout)?.[1]);
    const gid = Number(/gid=(\d+)/.exec(out.stdout)?.[1]);
    ids = { uid, gid };
  }
  return ids;
}

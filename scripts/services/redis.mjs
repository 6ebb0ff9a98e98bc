// Redis for BullMQ (`npm start` / `npm test`).
// Contract:
//   ensureRedis({ url?, dataDir?, port = 63799, log? }) -> { url, started, stop }
//     - url given and answering PING -> { url, started: false, stop: no-op }; warns (does not fail) when its
//       maxmemory-policy is not noeviction (BullMQ needs noeviction).
//     - otherwise starts `redis-server --bind 127.0.0.1 --port PORT --save "" --appendonly no
//       --maxmemory-policy noeviction --dir dataDir --daemonize no` as a child (log: <dataDir>/redis.log),
//       waits for PING -> { url: redis://127.0.0.1:PORT, started: true, stop }. dataDir defaults to a temp dir
//       (removed by stop).
//       If PORT already answers PING (e.g. started by another process) that Redis is reused (started: false).
//     - redis-server missing: apt-get install redis-server (root) or an Error saying what to install.
//   redisCommand(url, args, { timeoutMs }) -> reply (tiny RESP client: no dependency on ioredis)
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { aptInstall, isPortFree, isRoot, makeLog, onExit, spawnDaemon, tailFile, waitFor, which } from './util.mjs';

// Parses one RESP reply from buf at pos: returns [value, nextPos] or null when incomplete.
function parseReply(buf, pos) {
  const eol = buf.indexOf('\r\n', pos);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[pos]);
  const line = buf.toString('utf8', pos + 1, eol);
  const next = eol + 2;
  if (type === '+') return [line, next];
  if (type === '-') return [new Error(line), next];
  if (type === ':') return [Number(line), next];
  if (type === '$') {
    const len = Number(line);
    if (len < 0) return [null, next];
    if (buf.length < next + len + 2) return null;
    return [buf.toString('utf8', next, next + len), next + len + 2];
  }
  if (type === '*') {
    const n = Number(line);
    if (n < 0) return [null, next];
    const items = [];
    let p = next;
    for (let i = 0; i < n; i++) {
      const r = parseReply(buf, p);
      if (!r) return null;
      items.push(r[0]);
      p = r[1];
    }
    return [items, p];
  }
  throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
}

/** Sends one command (after AUTH/SELECT from the url) and resolves with its reply; rejects on Redis errors. */
export function redisCommand(url, args, { timeoutMs = 2000 } = {}) {
  const u = new URL(url);
  if (u.protocol !== 'redis:') return Promise.reject(new Error(`only redis:// urls are supported here, got ${u.protocol}`));
  const cmds = [];
  const user = decodeURIComponent(u.username || '');
  const pass = decodeURIComponent(u.password || '');
  if (pass) cmds.push(user ? ['AUTH', user, pass] : ['AUTH', pass]);
  const db = u.pathname.replace(/^\//, '');
  if (db && db !== '0') cmds.push(['SELECT', db]);
  cmds.push(args);
  const payload = cmds.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`).join('');
  const where = `${u.hostname}:${u.port || 6379}`;
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) });
    let buf = Buffer.alloc(0);
    const replies = [];
    const fail = (e) => {
      sock.destroy();
      reject(e);
    };
    sock.setTimeout(timeoutMs, () => fail(new Error(`Redis at ${where} did not answer ${args[0]} within ${timeoutMs} ms`)));
    sock.on('error', (e) => fail(new Error(`Redis at ${where}: ${e.message}`)));
    sock.on('close', () => fail(new Error(`Redis at ${where} closed the connection without answering ${args[0]} (is it Redis?)`)));
    sock.on('connect', () => sock.write(payload));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let r;
      let pos = 0;
      try {
        while (replies.length < cmds.length && (r = parseReply(buf, pos))) {
          replies.push(r[0]);
          pos = r[1];
        }
      } catch (e) {
        return fail(e);
      }
      buf = buf.subarray(pos);
      if (replies.length === cmds.length) {
        sock.end();
        const err = replies.find((x) => x instanceof Error);
        if (err) reject(new Error(`Redis at ${where}: ${err.message}`));
        else resolve(replies[replies.length - 1]);
      }
    });
  });
}

async function ping(url) {
  try {
    return (await redisCommand(url, ['PING'], { timeoutMs: 1500 })) === 'PONG' ? null : new Error('unexpected PING reply');
  } catch (e) {
    return e;
  }
}

async function checkPolicy(url, L) {
  try {
    const r = await redisCommand(url, ['CONFIG', 'GET', 'maxmemory-policy']);
    const policy = Array.isArray(r) ? r[1] : undefined;
    if (policy && policy !== 'noeviction') {
      L.warn(`Redis at ${new URL(url).host} has maxmemory-policy=${policy}; BullMQ needs noeviction (run: CONFIG SET maxmemory-policy noeviction)`);
    }
  } catch (e) {
    L.warn(`could not read maxmemory-policy from Redis at ${new URL(url).host} (${e.message}); BullMQ needs noeviction`);
  }
}

async function ensureBinary(L) {
  let bin = which('redis-server');
  if (bin) return bin;
  if (!isRoot()) throw new Error('redis-server was not found; install it with `sudo apt-get install -y redis-server` or set REDIS_URL to a reachable Redis.');
  await aptInstall(['redis-server'], { log: L });
  bin = which('redis-server');
  if (!bin) throw new Error('redis-server was installed with apt but is still not on PATH');
  return bin;
}

export async function ensureRedis({ url, dataDir, port = 63799, log } = {}) {
  const L = makeLog(log);
  if (url) {
    const err = await ping(url);
    if (!err) {
      await checkPolicy(url, L);
      return { url, started: false, stop: async () => {} };
    }
    L.warn(`Redis at ${url.replace(/\/\/[^@]*@/, '//***@')} is not reachable (${err.message}); starting a local redis-server instead`);
  }
  const bin = await ensureBinary(L);
  const ownUrl = `redis://127.0.0.1:${port}`;
  if (!(await isPortFree(port))) {
    if (!(await ping(ownUrl))) {
      L.info(`reusing the Redis already answering on 127.0.0.1:${port}`);
      await checkPolicy(ownUrl, L);
      return { url: ownUrl, started: false, stop: async () => {} };
    }
    throw new Error(`cannot start redis-server: port ${port} on 127.0.0.1 is already in use by something that does not answer Redis PING; pass another port`);
  }
  const tempDir = !dataDir;
  dataDir = path.resolve(dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-redis-')));
  fs.mkdirSync(dataDir, { recursive: true });
  const logFile = path.join(dataDir, 'redis.log');
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--dir', dataDir, '--daemonize', 'no', '--protected-mode', 'yes'];
  const t0 = Date.now();
  const child = spawnDaemon(bin, args, { logFile, name: 'redis-server', cwd: dataDir });
  // A temp dataDir is ours to remove, also when this process exits without calling stop().
  const removeTemp = () => tempDir && fs.rmSync(dataDir, { recursive: true, force: true });
  const unregister = onExit(removeTemp);
  const stop = async () => {
    await child.stop('SIGTERM', 5000);
    unregister();
    removeTemp();
  };
  try {
    await waitFor(async () => !(await ping(ownUrl)), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: `redis-server to answer PING on 127.0.0.1:${port}`,
      hint: `see ${logFile}`,
      abortIf: () => child.describeExit(),
    });
  } catch (e) {
    await stop();
    throw new Error(`${e.message}\n--- ${logFile} ---\n${tailFile(logFile, 15)}`);
  }
  L.info(`redis-server started on 127.0.0.1:${port} in ${((Date.now() - t0) / 1000).toFixed(1)}s (log ${logFile})`);
  return { url: ownUrl, started: true, stop };
}

// Shared helpers for the service starters in scripts/services/.
// Contract (all exported):
//   isRoot() -> boolean
//   which(cmd, extraDirs?) -> absolute path | null        (searches PATH plus /usr/sbin, /sbin)
//   aptInstall(pkgs, { log }) -> Promise<void>           (root only; `apt-get update` once per process)
//   freePort() -> Promise<number>                        (a currently free TCP port on 127.0.0.1)
//   isPortFree(port) -> Promise<boolean>
//   waitFor(fn, { timeoutMs, intervalMs, what, hint, abortIf }) -> first truthy value of fn()
//   run(cmd, args, { env, cwd, asUser, timeoutMs, input }) -> { stdout, stderr }; rejects with stderr in the message;
//       asUser (when root) runs it via runuser; the command is killed if this process dies
//   spawnDaemon(cmd, args, { logFile, env, cwd, name }) -> ChildProcess (+ .exited promise, .exitInfo);
//       killed with SIGKILL if this process dies (setpriv --pdeathsig when available, plus an exit hook)
//   onExit(fn) -> unregister   (fn runs synchronously on process exit / SIGINT / SIGTERM / SIGHUP)
//   tailFile(path, lines?) -> string, sleep(ms), makeLog(log)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Accepts a function, a pino/console-like object, or nothing; returns { info, warn }. */
export function makeLog(log) {
  if (typeof log === 'function') return { info: (m) => log(m), warn: (m) => log(`WARNING: ${m}`) };
  if (log && typeof log.info === 'function') {
    return { info: (m) => log.info(m), warn: (m) => (log.warn ? log.warn(m) : log.info(`WARNING: ${m}`)) };
  }
  return {
    info: (m) => process.stderr.write(`[services] ${m}\n`),
    warn: (m) => process.stderr.write(`[services] WARNING: ${m}\n`),
  };
}

export function which(cmd, extraDirs = []) {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  const dirs = [...(process.env.PATH || '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin', ...extraDirs];
  for (const d of dirs) {
    if (!d) continue;
    const p = path.join(d, cmd);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function tailFile(file, lines = 25) {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n').trim();
  } catch {
    return `(no log at ${file})`;
  }
}

/** Runs a command to completion. Rejects with an Error naming the command, exit code and stderr tail. */
export function run(cmd, args = [], { env, cwd, asUser, timeoutMs = 120_000, input } = {}) {
  let file = cmd;
  let argv = args;
  if (asUser && isRoot()) {
    file = which('runuser') || 'runuser';
    argv = ['-u', asUser, '--', cmd, ...args];
  }
  if (canPdeathsig()) {
    // The command dies with us (e.g. a radosgw-admin stuck waiting for a cluster we are tearing down).
    argv = ['--pdeathsig', 'KILL', '--', file, ...argv];
    file = setpriv;
  }
  const shown = `${[cmd, ...args].join(' ')}${asUser && isRoot() ? ` (as ${asUser})` : ''}`;
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(file, argv, { env: { ...process.env, ...env }, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (e) {
      reject(new Error(`could not run ${shown}: ${e.message}`));
      return;
    }
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const cap = (s, d) => (s.length > 200_000 ? s.slice(-100_000) : s) + d;
    child.stdout.on('data', (d) => (stdout = cap(stdout, d)));
    child.stderr.on('data', (d) => (stderr = cap(stderr, d)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const unregister = onExit(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    });
    child.on('close', unregister);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${shown}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ stdout, stderr });
      const why = timedOut ? `timed out after ${Math.round(timeoutMs / 1000)}s` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const detail = (stderr.trim() || stdout.trim()).split('\n').slice(-15).join('\n');
      const err = new Error(`${shown} ${why}${detail ? `:\n${detail}` : ''}`);
      Object.assign(err, { code, stdout, stderr });
      reject(err);
    });
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

let aptUpdated = null;
/** apt-get install -y --no-install-recommends pkgs (root only). Retries while another apt holds the lock. */
export async function aptInstall(pkgs, { log } = {}) {
  const L = makeLog(log);
  if (!isRoot()) throw new Error(`cannot install ${pkgs.join(' ')}: not running as root; install them with: sudo apt-get install -y ${pkgs.join(' ')}`);
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  const apt = async (args) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], { env, timeoutMs: 900_000 });
      } catch (e) {
        if (attempt < 60 && /Could not get lock|Unable to lock|is another process using it/i.test(e.message)) {
          await sleep(5000);
          continue;
        }
        throw e;
      }
    }
  };
  if (!aptUpdated) {
    L.info('apt-get update');
    aptUpdated = apt(['update']).catch((e) => {
      aptUpdated = null;
      throw e;
    });
  }
  await aptUpdated;
  L.info(`apt-get install ${pkgs.join(' ')} (this can take a minute)`);
  const t0 = Date.now();
  await apt(['install', '-y', '--no-install-recommends', ...pkgs]);
  L.info(`installed ${pkgs.join(' ')} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

const handedOut = new Set();
/** A TCP port that is free on 127.0.0.1 right now (never the same one twice in this process). */
export async function freePort() {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const { port: p } = srv.address();
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: could not find a free TCP port on 127.0.0.1');
}

export function isPortFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * Polls fn() until it returns a truthy value. abortIf() may return a string (a reason to give up early,
 * e.g. "the process exited"). On timeout: Error("timed out after Ns waiting for <what>; <hint> (last error: ...)").
 */
export async function waitFor(fn, { timeoutMs = 30_000, intervalMs = 200, what = 'condition', hint, abortIf } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    const abort = abortIf && abortIf();
    const suffix = `${hint ? `; ${hint}` : ''}${last ? ` (last error: ${last.message || last})` : ''}`;
    if (abort) throw new Error(`gave up waiting for ${what}: ${abort}${suffix}`);
    if (Date.now() >= deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${suffix}`);
    await sleep(intervalMs);
  }
}

// ---- exit hooks -------------------------------------------------------------------------------
const exitFns = new Set();
let hooksInstalled = false;
function runExitFns() {
  for (const fn of [...exitFns]) {
    exitFns.delete(fn);
    try {
      fn();
    } catch {
      /* best effort */
    }
  }
}
/** Registers a synchronous cleanup for process exit, and for SIGINT/SIGTERM/SIGHUP when the program has no handler of its own. Returns an unregister function. */
export function onExit(fn) {
  if (!hooksInstalled) {
    hooksInstalled = true;
    process.on('exit', runExitFns);
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      const handler = () => {
        // A program with its own handler stops services in order (console and worker before Redis and
        // Postgres); the 'exit' hook stays as the safety net. Otherwise clean up and re-raise.
        if (process.listenerCount(sig) > 1) return;
        runExitFns();
        process.removeListener(sig, handler);
        process.kill(process.pid, sig);
      };
      process.on(sig, handler);
    }
  }
  exitFns.add(fn);
  return () => exitFns.delete(fn);
}

const setpriv = which('setpriv');
let pdeathsigOk = null;
function canPdeathsig() {
  if (pdeathsigOk === null) {
    pdeathsigOk = !!setpriv && spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true']).status === 0;
  }
  return pdeathsigOk;
}

/**
 * Starts a long-running child in its own process group (a terminal's Ctrl-C reaches only the parent, which
 * stops services in order) with stdout+stderr appended to logFile.
 * The child is SIGKILLed if this process exits or is killed (even by SIGKILL, via setpriv --pdeathsig).
 * Returns the ChildProcess with .exited (Promise<{code, signal}>), .exitInfo (null while running),
 * and .stop(signal='SIGTERM', graceMs=5000) -> Promise (SIGKILL after graceMs).
 */
export function spawnDaemon(cmd, args, { logFile, env, cwd, name = path.basename(cmd) } = {}) {
  const fd = fs.openSync(logFile, 'a');
  const [file, argv] = canPdeathsig() ? [setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args]] : [cmd, args];
  const child = spawn(file, argv, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', fd, fd], detached: true });
  fs.closeSync(fd);
  child.exitInfo = null;
  const unregister = onExit(() => {
    if (!child.exitInfo) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
  child.exited = new Promise((resolve) => {
    child.on('error', (e) => {
      child.exitInfo ??= { code: null, signal: null, error: `could not start ${name}: ${e.message}` };
      unregister();
      resolve(child.exitInfo);
    });
    child.on('exit', (code, signal) => {
      child.exitInfo = { code, signal };
      unregister();
      resolve(child.exitInfo);
    });
  });
  child.describeExit = () => {
    const i = child.exitInfo;
    if (!i) return null;
    return i.error || `${name} exited ${i.signal ? `on ${i.signal}` : `with code ${i.code}`}`;
  };
  child.stop = async (signal = 'SIGTERM', graceMs = 5000) => {
    if (child.exitInfo || child.pid === undefined) return;
    try {
      child.kill(signal);
    } catch {
      /* gone */
    }
    const t = setTimeout(() => {
      try {
        child.kill('SIGKILL');
      } catch {
        /* gone */
      }
    }, graceMs);
    await child.exited;
    clearTimeout(t);
  };
  return child;
}

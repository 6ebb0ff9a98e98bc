// Runs one command and measures it: wall time, peak RSS of its process tree, CPU time (user + system).
//
// - Peak RSS: the larger of (a) the sum of VmRSS over the process and all its descendants, sampled every
//   100 ms from /proc, and (b) the kernel's exact max RSS of the largest process (ru_maxrss, via GNU
//   `/usr/bin/time -f` when installed). For single-process tools (restic, lifeboat's one node process) (b)
//   is exact; (a) catches trees whose processes peak together.
// - CPU: from GNU time (exact, whole tree); without it, the last /proc sample (may miss the final 100 ms).
// - The child runs in its own process group (Ctrl-C in a terminal reaches only the bench, which kills the
//   group) and is SIGKILLed by the kernel if the bench dies (setpriv --pdeathsig, when available).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, fdatasyncSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export type Env = Record<string, string | undefined>;

export type Measured = {
  wallS: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  peakRssBytes: number;
  cpuUserS: number;
  cpuSysS: number;
  stdout: string;
  stderr: string;
};

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p) && spawnSync(p, ['--pdeathsig', 'KILL', '--', 'true']).status === 0);
const CLK_TCK = 100;
const PAGE = 4096;

/** Process groups of children still running, for the bench's Ctrl-C handler. */
export const running = new Set<number>();

export function killRunning(): void {
  for (const pgid of running) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

function descendants(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tasks) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${t}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
      } catch {
        /* exited */
      }
    }
  }
  return out;
}

/** [rss bytes, cpu seconds] of one process, or null when it is gone. */
function sample(pid: number): [number, number] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after the comm: state(0) ... utime(11) stime(12) ... rss(21) in pages
    return [Number(f[21]) * PAGE, (Number(f[11]) + Number(f[12])) / CLK_TCK];
  } catch {
    return null;
  }
}

export async function measure(
  cmd: string,
  args: string[],
  opts: { env?: Env; cwd?: string; tmpDir: string; timeoutS?: number },
): Promise<Measured> {
  const timeFile = join(opts.tmpDir, `time-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`);
  let argv = [cmd, ...args];
  // The inner setpriv ties the tool to `time`; the outer one ties `time` to the bench.
  if (TIME) argv = [TIME, '-f', '%e %U %S %M', '-o', timeFile, ...(SETPRIV ? [SETPRIV, '--pdeathsig', 'KILL', '--'] : []), ...argv];
  if (SETPRIV) argv = [SETPRIV, '--pdeathsig', 'KILL', '--', ...argv];
  const started = performance.now();
  const child = spawn(argv[0]!, argv.slice(1), { env: opts.env as NodeJS.ProcessEnv | undefined, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const pid = child.pid!;
  running.add(pid);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (b: Buffer) => out.push(b));
  child.stderr.on('data', (b: Buffer) => err.push(b));
  let peak = 0;
  let cpu = 0;
  const poll = () => {
    let rss = 0;
    let c = 0;
    for (const p of descendants(pid)) {
      if (TIME && p === pid) continue; // GNU time itself
      const s = sample(p);
      if (s) {
        rss += s[0];
        c += s[1];
      }
    }
    peak = Math.max(peak, rss);
    cpu = Math.max(cpu, c);
  };
  const timer = setInterval(poll, 100);
  const killer = opts.timeoutS ? setTimeout(() => process.kill(-pid, 'SIGKILL'), opts.timeoutS * 1000) : undefined;
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, s) => resolve([c, s]));
  });
  const wallS = (performance.now() - started) / 1000;
  clearInterval(timer);
  clearTimeout(killer);
  running.delete(pid);
  let cpuUserS = cpu;
  let cpuSysS = 0;
  if (TIME && existsSync(timeFile)) {
    // The file may start with "Command exited with non-zero status N".
    const last = readFileSync(timeFile, 'utf8').trim().split('\n').pop() ?? '';
    const [, user, sys, maxKb] = last.split(' ').map(Number);
    if (Number.isFinite(user) && Number.isFinite(sys)) {
      cpuUserS = user!;
      cpuSysS = sys!;
    }
    if (Number.isFinite(maxKb)) peak = Math.max(peak, maxKb! * 1024);
    rmSync(timeFile, { force: true });
  }
  return { wallS, code, signal, peakRssBytes: peak, cpuUserS, cpuSysS, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** Throws with the tail of stderr when the command failed. */
export function check(what: string, m: Measured): Measured {
  if (m.code !== 0) {
    const tail = m.stderr.trim().split('\n').slice(-15).join('\n');
    throw new Error(`${what} failed (${m.signal ? `signal ${m.signal}` : `exit code ${m.code}`}):\n${tail}`);
  }
  return m;
}

/** CPU seconds used so far by this process's descendants named radosgw / ceph-osd / ceph-mon (the S3 server). */
export function serverCpuSeconds(): number {
  let total = 0;
  for (const pid of descendants(process.pid)) {
    if (pid === process.pid) continue;
    let comm = '';
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (!/^(radosgw|ceph-osd|ceph-mon)$/.test(comm)) continue;
    total += sample(pid)?.[1] ?? 0;
  }
  return total;
}

/** Machine-wide CPU seconds so far from /proc/stat: busy (user+nice+system+irq+softirq) and steal. */
export function machineCpu(): { busyS: number; stealS: number } {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = f;
    return { busyS: (user + nice + system + irq + softirq) / CLK_TCK, stealS: steal / CLK_TCK };
  } catch {
    return { busyS: NaN, stealS: NaN };
  }
}

/**
 * Writes `bytes` of zeros under `dir`, syncs and deletes them, so no tool's writes are the disk's first to
 * those blocks: on these VMs the first write to a never-used block of the virtual disk is far slower than
 * later ones (a 1 GB restore into fresh blocks took 4.3 s, into blocks just freed 2.3 s).
 */
export function warmDisk(dir: string, bytes: number, log: (m: string) => void): void {
  const t = Date.now();
  const file = join(dir, 'disk-warm-up');
  const chunk = Buffer.alloc(16 * 1024 * 1024);
  const fd = openSync(file, 'w');
  try {
    for (let done = 0; done < bytes; done += chunk.length) writeSync(fd, chunk);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  log(`disk warm-up: ${(bytes / 1024 ** 3).toFixed(1)} GiB written, synced and deleted in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

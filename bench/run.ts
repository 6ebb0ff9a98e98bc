// Lifeboat vs restic, side by side against one local Ceph RADOS Gateway. A command, not a test:
//
//   npx tsx bench/run.ts [--size 1GiB | --quick] [--rss-scaling] [--profile] [--no-ceilings] [--seed N] [--json]
//
// Generates a deterministic corpus (bench/corpus.ts), starts one radosgw (scripts/services/rgw.mjs, memstore,
// 127.0.0.1 only), gives each tool a fresh bucket and runs, alternating which tool goes first:
// (1) first backup, (2) unchanged re-backup, (3) re-backup after changing 5% of the files, (4) full restore
// of the latest snapshot into an empty directory, verified file by file against the corpus (sha256); then, for
// information, restic's restore with --verify (it re-reads and checks what it wrote, as Lifeboat always does).
// Each restore (twice per tool, A B B A, figures averaged) goes into a fresh ext4 file system of its own on a
// loop device (bench/scratch-fs.ts; as root).
// Measures wall time, bytes uploaded (bucket growth via ListObjectsV2, plus radosgw's own byte counters),
// peak RSS and CPU time of each tool's processes (bench/measure.ts). Prints a table with lifeboat/restic
// ratios and marks misses of the targets (ratio <= 1.0, peak RSS <= 300 MB, within 10% when the corpus
// doubles with --rss-scaling), the machine's raw ceilings (bench/primitives.ts + raw S3 PUT/GET) and the
// fraction of them reached. --profile adds a node --cpu-prof run of lifeboat's first backup and restore.
// Temp dirs and radosgw are removed at the end, on errors and on Ctrl-C. Progress goes to stderr.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRgw as startRgwJs } from '../scripts/services/rgw.mjs';
import { freePort } from '../scripts/services/util.mjs';
import { runPrimitives, s3Ceiling, s3Latency, type S3Ceiling } from './ceilings';
import { changeFiles, compareManifests, generateCorpus, manifest } from './corpus';
import { check, killRunning, machineCpu, measure, serverCpuSeconds, warmDisk, type Measured } from './measure';
import { summarizeProfile } from './profile';
import { MiB, render, verdicts, type Results, type SizeRun, type StepName, type StepResult, type ToolStep } from './report';
import { bucketUsage, counterDelta, dropBucket, rgwCounters, type Rgw } from './storage';
import { restoreTarget } from './scratch-fs';
import { ensureRestic, lifeboat, lifeboatCommand, restic, resticVersion, type Tool, type ToolName } from './tools';

const startRgw = startRgwJs as unknown as (opts: { log?: (m: string) => void; port?: number; config?: Record<string, string> }) => Promise<Rgw>;
const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
const PASSWORD = 'lifeboat-bench-password';

type Options = { size: number; seed: number; quick: boolean; rssScaling: boolean; profile: boolean; ceilings: boolean; json: boolean; rgwNoDelay: boolean };

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i.exec(s.trim());
  if (!m) throw new Error(`--size: expected e.g. 1GiB, 200MiB or 500MB, got "${s}"`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const mult: Record<string, number> = { b: 1, k: 1024, kib: 1024, kb: 1e3, m: MiB, mib: MiB, mb: 1e6, g: 1024 * MiB, gib: 1024 * MiB, gb: 1e9 };
  return Math.round(Number(m[1]) * mult[unit]!);
}

function parseArgs(argv: string[]): Options {
  const o: Options = { size: 1024 * MiB, seed: 20251115, quick: false, rssScaling: false, profile: false, ceilings: true, json: false, rgwNoDelay: false };
  let sizeGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--rss-scaling') o.rssScaling = true;
    else if (a === '--profile') o.profile = true;
    else if (a === '--no-ceilings') o.ceilings = false;
    else if (a === '--json') o.json = true;
    else if (a === '--rgw-nodelay') o.rgwNoDelay = true;
    else if (a.startsWith('--size')) {
      o.size = parseSize(value());
      sizeGiven = true;
    } else if (a.startsWith('--seed')) o.seed = Number(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npx tsx bench/run.ts [--size 1GiB | --quick (200 MiB)] [--rss-scaling] [--profile] [--rgw-nodelay] [--no-ceilings] [--seed N] [--json]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (see --help)`);
  }
  if (o.quick && !sizeGiven) o.size = 200 * MiB;
  if (o.size < 16 * MiB) throw new Error('--size: at least 16MiB');
  return o;
}

const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);
const sync = () => spawnSync('sync');

async function main(): Promise<number> {
  const opts = parseArgs(process.argv.slice(2));
  const t0 = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  let rgw: Rgw | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      killRunning();
      await rgw?.stop().catch(() => {});
      rmSync(work, { recursive: true, force: true });
    })());
  let interrupted = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted++) process.exit(130); // second Ctrl-C: the exit hooks still SIGKILL radosgw
    log(`${sig}: stopping the tools and radosgw, removing ${work}`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await ensureRestic(log);
    log(`work dir ${work}; starting radosgw`);
    // --rgw-nodelay: radosgw's beast frontend leaves Nagle on; with the client's delayed ACK, a small
    // response on a reused connection then waits ~40 ms. tcp_nodelay=1 removes that stall.
    const port = opts.rgwNoDelay ? ((await freePort()) as number) : undefined;
    rgw = await startRgw({
      log: (m) => log(`rgw: ${m}`),
      ...(port ? { port, config: { 'rgw frontends': `beast endpoint=127.0.0.1:${port} tcp_nodelay=1` } } : {}),
    });
    const results: Results = {
      date: new Date().toISOString(),
      machine: { node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memGiB: Math.round(totalmem() / 1024 ** 3), restic: resticVersion().split(' compiled')[0]!, kernel: release() },
      options: { size: opts.size, seed: opts.seed, quick: opts.quick, rssScaling: opts.rssScaling, profile: opts.profile, rgwNoDelay: opts.rgwNoDelay },
      startup: { lifeboat: { wallS: 0, peakRssBytes: 0 }, restic: { wallS: 0, peakRssBytes: 0 } },
      runs: [],
      verdicts: [],
      durationS: 0,
    };
    if (opts.ceilings) {
      log('raw ceilings: bench/primitives.ts (one core)');
      const primitives = await runPrimitives(repoRoot, opts.quick ? 300 : 700);
      const s3: S3Ceiling[] = [];
      for (const concurrency of [2, 4]) {
        log(`raw ceilings: S3 PUT/GET, 16 MiB objects, ${concurrency} in flight`);
        s3.push(await s3Ceiling(rgw, { totalMiB: opts.quick ? 128 : 256, objectMiB: 16, concurrency }));
      }
      log('raw ceilings: S3 request latency');
      results.ceilings = { primitives, s3, latency: await s3Latency(rgw) };
    }
    // One untimed run first: after a source change the CLI rebuilds its bundle (esbuild's RSS and seconds),
    // which no command pays once it is built.
    check('startup probe', await measure(lifeboatCommand(repoRoot)[0], ['--help'], { cwd: repoRoot, tmpDir: work }));
    results.startup = {
      lifeboat: await fastest(3, () => measure(lifeboatCommand(repoRoot)[0], ['--help'], { cwd: repoRoot, tmpDir: work })),
      restic: await fastest(3, () => measure('restic', ['version'], { tmpDir: work })),
    };
    const sizes = opts.rssScaling ? [opts.size, opts.size * 2] : [opts.size];
    for (const [i, size] of sizes.entries()) {
      results.runs.push(await runSize(rgw, work, opts, size, i, opts.profile && i === 0 ? results : undefined));
    }
    results.verdicts = verdicts(results);
    results.durationS = (performance.now() - t0) / 1000;
    process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${render(results)}\n`);
    // Missed speed/RSS targets are reported, not failures of the command; a restore that does not match is.
    return results.runs.every((run) => !run.verified.lifeboat.length && !run.verified.restic.length) ? 0 : 1;
  } finally {
    await cleanup();
  }
}

/** Fastest wall time of n runs, and the peak RSS seen. */
async function fastest(n: number, fn: () => ReturnType<typeof measure>): Promise<{ wallS: number; peakRssBytes: number }> {
  const best = { wallS: Infinity, peakRssBytes: 0 };
  for (let i = 0; i < n; i++) {
    const m = check('startup probe', await fn());
    best.wallS = Math.min(best.wallS, m.wallS);
    best.peakRssBytes = Math.max(best.peakRssBytes, m.peakRssBytes);
  }
  return best;
}

/** Where one restore goes: `dir`; after the measurement checkAndDrop() (or drop() after a failure). */
type RestoreInto = { dir: string; drop(): void; checkAndDrop(): Promise<void> };

async function runSize(rgw: Rgw, work: string, opts: Options, size: number, index: number, profileInto?: Results): Promise<SizeRun> {
  const corpusDir = join(work, `corpus-${index}`);
  log(`generating the ${(size / MiB).toFixed(0)} MiB corpus in ${corpusDir}`);
  const g0 = performance.now();
  const corpus = generateCorpus(corpusDir, { size, seed: opts.seed + index, repoRoot });
  const generateS = (performance.now() - g0) / 1000;
  log(`corpus: ${corpus.mix.files} files, ${(corpus.mix.bytes / MiB).toFixed(0)} MiB in ${generateS.toFixed(1)} s`);
  warmDisk(work, 3 * corpus.mix.bytes, log); // both restores then write into blocks the disk has seen
  const tag = `${Date.now().toString(36)}-${index}`;
  const tools: Record<ToolName, Tool> = {
    lifeboat: lifeboat({ repoRoot, rgw, bucket: `bench-lifeboat-${tag}`, password: PASSWORD, tmpDir: work }),
    restic: restic({ rgw, bucket: `bench-restic-${tag}`, password: PASSWORD, tmpDir: work, cacheDir: join(work, `restic-cache-${index}`) }),
  };
  let restoreFs: string | undefined;
  try {
    log('init both repositories (not timed)');
    await tools.lifeboat.init();
    await tools.restic.init();

    const steps: StepResult[] = [];
    const verified: Record<ToolName, string[]> = { lifeboat: [], restic: [] };
    // `order` may name a tool twice (A B B A): its figures are then the mean of its runs (peak RSS: the highest).
    // The restore step gets `restoreInto`, where each run restores.
    const runStep = async (step: StepName, order: ToolName[], restoreInto?: (name: ToolName) => RestoreInto) => {
      const got: Partial<Record<ToolName, ToolStep[]>> = {};
      for (const name of order) {
        const tool = tools[name];
        const into = restoreInto?.(name); // made before, checked after the measurement
        sync();
        const u0 = await bucketUsage(rgw, tool.bucket);
        const c0 = await rgwCounters(rgw);
        const s0 = serverCpuSeconds();
        const k0 = machineCpu();
        const b0 = process.cpuUsage();
        log(`${step}: ${name}`);
        let m: Measured;
        try {
          m = into ? await tool.restore(into.dir) : await tool.backup(corpusDir);
        } catch (err) {
          into?.drop();
          throw err;
        }
        const serverCpuS = serverCpuSeconds() - s0;
        const k1 = machineCpu();
        const b1 = process.cpuUsage(b0);
        // Everything else the machine did meanwhile (other users' jobs); the bench's own polling is subtracted.
        const otherCpuS = Math.max(0, k1.busyS - k0.busyS - (m.cpuUserS + m.cpuSysS) - serverCpuS - (b1.user + b1.system) / 1e6);
        const stealS = k1.stealS - k0.stealS;
        const c = counterDelta(c0, await rgwCounters(rgw));
        const u1 = await bucketUsage(rgw, tool.bucket);
        await into?.checkAndDrop();
        (got[name] ??= []).push({
          wallS: m.wallS,
          cpuS: m.cpuUserS + m.cpuSysS,
          cpuUserS: m.cpuUserS,
          cpuSysS: m.cpuSysS,
          serverCpuS,
          otherCpuS,
          stealS,
          peakRssBytes: m.peakRssBytes,
          storedDeltaBytes: u1.bytes - u0.bytes,
          storedDeltaObjects: u1.objects - u0.objects,
          sentBytes: c?.putBytes ?? null,
          readBytes: c?.getBytes ?? null,
          requests: c?.req ?? null,
          summary: 'summary' in m ? (m as { summary: ToolStep['summary'] }).summary : undefined,
        });
        log(`${step}: ${name} ${m.wallS.toFixed(2)} s, peak RSS ${(m.peakRssBytes / 1e6).toFixed(0)} MB, CPU ${m.cpuUserS.toFixed(1)} s user + ${m.cpuSysS.toFixed(1)} s sys (radosgw+osd ${serverCpuS.toFixed(1)} s, other processes ${otherCpuS.toFixed(1)} s), stored +${((u1.bytes - u0.bytes) / MiB).toFixed(1)} MiB`);
      }
      const l = meanStep(got.lifeboat!);
      const r = meanStep(got.restic!);
      steps.push({ step, first: order[0]!, lifeboat: l, restic: r, ratio: l.wallS / r.wallS });
    };

    await runStep('first-backup', ['lifeboat', 'restic']);
    const openProbe = async (t: Tool) => {
      const m = await t.snapshots();
      return { wallS: m.wallS, peakRssBytes: m.peakRssBytes };
    };
    const open = { lifeboat: await openProbe(tools.lifeboat), restic: await openProbe(tools.restic) };
    await runStep('unchanged-rebackup', ['restic', 'lifeboat']);
    log('changing 5% of the files');
    const change = changeFiles(corpus, 0.05, repoRoot);
    await runStep('changed-rebackup', ['lifeboat', 'restic']);
    log('hashing the corpus for the restore checks');
    const expected = await manifest(corpusDir);
    // Every restore goes into a file system of its own (bench/scratch-fs.ts), checked against the corpus and
    // then dropped.
    let restores = 0;
    const restoreTargetFor = (name: ToolName): RestoreInto => {
      const t = restoreTarget(work, 1.3 * size + 1024 ** 3, `restore-${name}-${index}-${restores++}`, log);
      restoreFs = t.describe ?? undefined;
      /** Checks the restore against the corpus, then drops it and its file system. */
      const checkAndDrop = async () => {
        try {
          // Both tools restore the absolute path: <target>/<corpusDir>.
          const restored = join(t.dir, corpusDir);
          let problems: string[];
          try {
            problems = compareManifests(expected, await manifest(restored));
          } catch (err) {
            problems = [`cannot read ${restored}: ${(err as Error).message}`];
          }
          verified[name].push(...problems);
          log(`restore check ${name}: ${problems.length ? `${problems.length} problems, e.g. ${problems[0]}` : `all ${expected.size} files match`}`);
        } finally {
          t.drop();
        }
      };
      return { dir: t.dir, drop: t.drop, checkAndDrop };
    };
    // Twice each, A B B A: the first restore after the backups ran slower for either tool here.
    await runStep('restore', ['restic', 'lifeboat', 'lifeboat', 'restic'], restoreTargetFor);
    // restic checks what it restored only when asked; Lifeboat always does: the like-for-like figure, after the target row.
    let resticVerified: SizeRun['resticVerified'];
    if (tools.restic.restoreVerified) {
      log('restore: restic --verify (like for like)');
      const into = restoreTargetFor('restic');
      sync();
      const m = await tools.restic.restoreVerified(into.dir).finally(() => into.checkAndDrop());
      resticVerified = { wallS: m.wallS, cpuS: m.cpuUserS + m.cpuSysS, peakRssBytes: m.peakRssBytes };
    }
    const stored = { lifeboat: await bucketUsage(rgw, tools.lifeboat.bucket), restic: await bucketUsage(rgw, tools.restic.bucket) };

    if (profileInto) await profile(rgw, work, corpusDir, profileInto);
    return { targetBytes: size, mix: corpus.mix, generateS, change, steps, open, stored, verified, resticVerified, restoreFs: restoreFs ? `${restoreFs}, a new one per restore` : 'the work directory' };
  } finally {
    rmSync(corpusDir, { recursive: true, force: true });
    rmSync(join(work, `restic-cache-${index}`), { recursive: true, force: true });
    for (const t of Object.values(tools)) await dropBucket(rgw, t.bucket);
  }
}

/** The mean of a tool's runs of one step; peak RSS is the highest of them. */
function meanStep(runs: ToolStep[]): ToolStep {
  const mean = (f: (t: ToolStep) => number) => runs.reduce((n, t) => n + f(t), 0) / runs.length;
  const meanOrNull = (f: (t: ToolStep) => number | null) => (runs.every((t) => f(t) !== null) ? mean((t) => f(t)!) : null);
  return {
    wallS: mean((t) => t.wallS),
    cpuS: mean((t) => t.cpuS),
    cpuUserS: mean((t) => t.cpuUserS),
    cpuSysS: mean((t) => t.cpuSysS),
    serverCpuS: mean((t) => t.serverCpuS),
    otherCpuS: mean((t) => t.otherCpuS),
    stealS: mean((t) => t.stealS),
    peakRssBytes: Math.max(...runs.map((t) => t.peakRssBytes)),
    storedDeltaBytes: mean((t) => t.storedDeltaBytes),
    storedDeltaObjects: mean((t) => t.storedDeltaObjects),
    sentBytes: meanOrNull((t) => t.sentBytes),
    readBytes: meanOrNull((t) => t.readBytes),
    requests: meanOrNull((t) => t.requests),
    summary: runs[0]!.summary,
    ...(runs.length > 1 ? { runsWallS: runs.map((t) => t.wallS) } : {}),
  };
}

/** node --cpu-prof of lifeboat's first backup (fresh bucket) and of its full restore. */
async function profile(rgw: Rgw, work: string, corpusDir: string, into: Results): Promise<void> {
  const bucket = `bench-profile-${Date.now().toString(36)}`;
  const tool = lifeboat({ repoRoot, rgw, bucket, password: PASSWORD, tmpDir: work });
  const dirs = { backup: join(work, 'prof-backup'), restore: join(work, 'prof-restore') };
  const target = join(work, 'restore-profile');
  try {
    await tool.init();
    mkdirSync(dirs.backup, { recursive: true });
    mkdirSync(dirs.restore, { recursive: true });
    log('profile: lifeboat first backup with --cpu-prof');
    const b = await tool.backup(corpusDir, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dirs.backup}`] });
    log('profile: lifeboat full restore with --cpu-prof');
    const r = await tool.restore(target, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dirs.restore}`] });
    into.profile = { backup: summarizeProfile(dirs.backup), backupWallS: b.wallS, restore: summarizeProfile(dirs.restore), restoreWallS: r.wallS };
  } finally {
    rmSync(target, { recursive: true, force: true });
    await dropBucket(rgw, bucket);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
  },
);

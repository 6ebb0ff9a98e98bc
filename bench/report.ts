// Text report of a bench run (bench/run.ts builds the Results; --json prints them raw instead).
import type { ChangeSummary, CorpusMix } from './corpus';
import type { Primitives, S3Ceiling, S3Latency } from './ceilings';
import type { ProfileSummary } from './profile';
import type { BackupSummary, ToolName } from './tools';

export const RATIO_TARGET = 1.0;
export const RSS_TARGET_BYTES = 300 * 1e6;
export const RSS_SCALING_TARGET = 0.1;
const MISS = 'MISSES TARGET';

export type ToolStep = {
  wallS: number;
  /** user + system CPU seconds of the tool's processes (all threads). */
  cpuS: number;
  cpuUserS: number;
  cpuSysS: number;
  /** CPU seconds radosgw + ceph-osd + ceph-mon used during the step (they share the machine's cores). */
  serverCpuS: number;
  /** CPU seconds the rest of the machine used during the step (other users' jobs on a shared machine). */
  otherCpuS: number;
  /** CPU seconds stolen by the hypervisor during the step. */
  stealS: number;
  peakRssBytes: number;
  /** Change of the bucket's stored bytes (sum of object sizes, ListObjectsV2) over the step. */
  storedDeltaBytes: number;
  storedDeltaObjects: number;
  /** radosgw counters over the step (null when the admin socket is not reachable). */
  sentBytes: number | null;
  readBytes: number | null;
  requests: number | null;
  summary?: BackupSummary;
  /** When the step ran more than once for the tool (the restores): each run's wall time; the fields above are their mean. */
  runsWallS?: number[];
};
export type StepName = 'first-backup' | 'unchanged-rebackup' | 'changed-rebackup' | 'restore';
export const STEP_LABEL: Record<StepName, string> = {
  'first-backup': 'first backup',
  'unchanged-rebackup': 'unchanged re-backup',
  'changed-rebackup': 're-backup, 5% changed',
  restore: 'full restore',
};
export type StepResult = { step: StepName; first: ToolName; lifeboat: ToolStep; restic: ToolStep; ratio: number };
export type SizeRun = {
  targetBytes: number;
  mix: CorpusMix;
  generateS: number;
  change: ChangeSummary;
  steps: StepResult[];
  /** `snapshots` after the first backup: open the repository and list, the fixed cost of every command. */
  open: Record<ToolName, { wallS: number; peakRssBytes: number }>;
  stored: Record<ToolName, { objects: number; bytes: number }>;
  verified: Record<ToolName, string[]>;
  /** restic's restore with --verify (like for like with Lifeboat's restore, which always checks what it wrote). */
  resticVerified?: { wallS: number; cpuS: number; peakRssBytes: number };
  /** Where the restores went (bench/scratch-fs.ts). */
  restoreFs?: string;
};
export type Results = {
  date: string;
  machine: { node: string; cpu: string; cores: number; memGiB: number; restic: string; kernel: string };
  options: { size: number; seed: number; quick: boolean; rssScaling: boolean; profile: boolean; rgwNoDelay: boolean };
  ceilings?: { primitives: Primitives; s3: S3Ceiling[]; latency: S3Latency };
  startup: Record<ToolName, { wallS: number; peakRssBytes: number }>;
  runs: SizeRun[];
  profile?: { backup: ProfileSummary | null; backupWallS: number; restore: ProfileSummary | null; restoreWallS: number };
  verdicts: { target: string; ok: boolean; detail: string }[];
  durationS: number;
};

export const MiB = 1024 * 1024;
export const fmtBytes = (n: number | null | undefined): string => {
  if (n === null || n === undefined) return 'n/a';
  const a = Math.abs(n);
  if (a >= 1024 * MiB) return `${(n / 1024 / MiB).toFixed(2)} GiB`;
  if (a >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (a >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
};
/** RSS in MB (10^6 bytes), the unit of the 300 MB target. */
export const fmtMB = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
const fmtS = (s: number) => `${s.toFixed(2)} s`;
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

export function stepRatios(run: SizeRun): { step: StepName; ratio: number }[] {
  return run.steps.map((s) => ({ step: s.step, ratio: s.ratio }));
}

export function render(r: Results): string {
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  p(`# Lifeboat vs restic: ${r.date}; node ${r.machine.node}, ${r.machine.restic}; ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memGiB} GiB; one local radosgw (memstore${r.options.rgwNoDelay ? ', tcp_nodelay=1' : ''})`);
  for (const run of r.runs) {
    const m = run.mix;
    const share = (b: number) => `${((100 * b) / m.bytes).toFixed(0)}%`;
    p();
    p(`## corpus ${fmtBytes(m.bytes)}: ${m.files} files in ${m.dirs} directories (generated in ${run.generateS.toFixed(1)} s)`);
    p(`   source-like text ${share(m.source.bytes)} (${m.source.files} files, ${fmtBytes(m.source.bytes)}, mean ${fmtBytes(m.source.bytes / Math.max(1, m.source.files))}); ` +
      `compressible logs/JSON/CSV ${share(m.compressible.bytes)} (${m.compressible.files} files, ${fmtBytes(m.compressible.bytes)}); ` +
      `incompressible ${share(m.random.bytes)} (${m.random.files} files, ${fmtBytes(m.random.bytes)})`);
    p(`   5% change: ${run.change.files} files (${fmtBytes(run.change.bytesInFiles)}) touched, ${fmtBytes(run.change.bytesRewritten)} rewritten, ${fmtBytes(run.change.bytesAppended)} appended`);
    p();
    const head = `${pad('step', 23)}${lpad('lifeboat', 10)}${lpad('restic', 10)}  ${pad('ratio L/R', 24)}${lpad('uploaded L', 12)}${lpad('uploaded R', 12)}  ${pad('peak RSS L', 26)}${lpad('peak RSS R', 11)}`;
    p(head);
    p('-'.repeat(head.length));
    for (const s of run.steps) {
      const ratio = `${s.ratio.toFixed(2)}${s.ratio > RATIO_TARGET ? ` ${MISS}` : ''}`;
      const rss = `${fmtMB(s.lifeboat.peakRssBytes)}${s.lifeboat.peakRssBytes > RSS_TARGET_BYTES ? ` ${MISS}` : ''}`;
      p(`${pad(STEP_LABEL[s.step], 23)}${lpad(fmtS(s.lifeboat.wallS), 10)}${lpad(fmtS(s.restic.wallS), 10)}  ${pad(ratio, 24)}` +
        `${lpad(fmtBytes(s.lifeboat.storedDeltaBytes), 12)}${lpad(fmtBytes(s.restic.storedDeltaBytes), 12)}  ${pad(rss, 26)}${lpad(fmtMB(s.restic.peakRssBytes), 11)}`);
    }
    for (const s of run.steps) {
      const runs = (t: ToolStep) => (t.runsWallS ?? [t.wallS]).map((w) => w.toFixed(2)).join(' / ');
      if (s.lifeboat.runsWallS || s.restic.runsWallS) p(`   ${STEP_LABEL[s.step]}: the mean of each tool's runs, ${s.first} first: lifeboat ${runs(s.lifeboat)} s, restic ${runs(s.restic)} s`);
    }
    p();
    const head2 = `${pad('step', 23)}${lpad('CPU L', 18)}${lpad('CPU R', 18)}${lpad('server L/R', 14)}${lpad('others L/R', 14)}${lpad('sent L', 12)}${lpad('sent R', 12)}${lpad('read L', 12)}${lpad('read R', 12)}${lpad('requests L/R', 15)}  order`;
    p(head2);
    p('-'.repeat(head2.length));
    const cpu = (t: ToolStep) => `${t.cpuS.toFixed(1)} s (${(t.cpuS / t.wallS).toFixed(2)} c)`;
    for (const s of run.steps) {
      p(`${pad(STEP_LABEL[s.step], 23)}${lpad(cpu(s.lifeboat), 18)}${lpad(cpu(s.restic), 18)}${lpad(`${s.lifeboat.serverCpuS.toFixed(1)}/${s.restic.serverCpuS.toFixed(1)} s`, 14)}` +
        `${lpad(`${s.lifeboat.otherCpuS.toFixed(1)}/${s.restic.otherCpuS.toFixed(1)} s`, 14)}${lpad(fmtBytes(s.lifeboat.sentBytes), 12)}${lpad(fmtBytes(s.restic.sentBytes), 12)}` +
        `${lpad(fmtBytes(s.lifeboat.readBytes), 12)}${lpad(fmtBytes(s.restic.readBytes), 12)}${lpad(`${s.lifeboat.requests ?? '?'}/${s.restic.requests ?? '?'}`, 15)}  ${s.first} first`);
    }
    p(`   (uploaded = growth of the bucket's stored bytes; sent/read = bytes radosgw received/served, incl. deleted lock files and range reads;`);
    p(`    CPU = user+system seconds of the tool's processes, "c" = cores busy on average; server = CPU seconds of radosgw+ceph-osd+mon during the step;`);
    p(`    others = CPU seconds used meanwhile by everything else on the machine (competes for the same cores; high = noisy figure); repository open+list (\`snapshots\`): lifeboat ${fmtS(run.open.lifeboat.wallS)} ${fmtMB(run.open.lifeboat.peakRssBytes)}, restic ${fmtS(run.open.restic.wallS)} ${fmtMB(run.open.restic.peakRssBytes)})`);
    p(`   repository after all steps: lifeboat ${fmtBytes(run.stored.lifeboat.bytes)} in ${run.stored.lifeboat.objects} objects, restic ${fmtBytes(run.stored.restic.bytes)} in ${run.stored.restic.objects} objects; ` +
      `restores${run.restoreFs ? ` (into ${run.restoreFs})` : ''} verified against the corpus (sha256 of every file): lifeboat ${run.verified.lifeboat.length ? `FAILED (${run.verified.lifeboat.slice(0, 3).join('; ')})` : 'ok'}, restic ${run.verified.restic.length ? `FAILED (${run.verified.restic.slice(0, 3).join('; ')})` : 'ok'}`);
    const rv = run.resticVerified;
    const lr = run.steps.find((s) => s.step === 'restore');
    if (rv && lr) {
      p(`   like for like: \`restic restore --verify\` (re-reads and checks every restored file, which Lifeboat's restore always does) ${fmtS(rv.wallS)}, CPU ${rv.cpuS.toFixed(1)} s, ` +
        `peak RSS ${fmtMB(rv.peakRssBytes)}; lifeboat/that ${(lr.lifeboat.wallS / rv.wallS).toFixed(2)} (information only: the target row is the plain restore above)`);
    }
  }
  if (r.runs.length === 2) {
    p();
    p(`## peak RSS when the corpus doubles (${fmtBytes(r.runs[0]!.mix.bytes)} -> ${fmtBytes(r.runs[1]!.mix.bytes)}); target: lifeboat's peak (highest step) within ${RSS_SCALING_TARGET * 100}%`);
    for (const [i, s] of r.runs[0]!.steps.entries()) {
      const t = r.runs[1]!.steps[i]!;
      const g = (a: number, b: number) => (b - a) / a;
      const gl = g(s.lifeboat.peakRssBytes, t.lifeboat.peakRssBytes);
      const gr = g(s.restic.peakRssBytes, t.restic.peakRssBytes);
      p(`${pad(STEP_LABEL[s.step], 23)} lifeboat ${lpad(fmtMB(s.lifeboat.peakRssBytes), 7)} -> ${lpad(fmtMB(t.lifeboat.peakRssBytes), 7)} (${gl >= 0 ? '+' : ''}${(gl * 100).toFixed(1)}%)${Math.abs(gl) > RSS_SCALING_TARGET ? ' >10%' : ''}` +
        `   restic ${lpad(fmtMB(s.restic.peakRssBytes), 7)} -> ${lpad(fmtMB(t.restic.peakRssBytes), 7)} (${gr >= 0 ? '+' : ''}${(gr * 100).toFixed(1)}%)`);
    }
  }
  if (r.ceilings) {
    const c = r.ceilings;
    p();
    p('## raw ceilings of this machine (bench/primitives.ts: MB/s of input per CPU-second, one core)');
    for (const l of c.primitives.lines) p(`   ${l}`);
    for (const s of c.s3) {
      p(`   raw S3 via lib/blob S3BlobStore, ${s.objectMiB} MiB objects, ${s.concurrency} in flight (${s.totalMiB.toFixed(0)} MiB): PUT ${s.putMBps.toFixed(0)} MB/s, GET ${s.getMBps.toFixed(0)} MB/s`);
    }
    const l = c.latency;
    p(`   S3 request latency, sequential on one reused connection: 4 KiB range GET ${l.smallGetMs.toFixed(1)} ms, 1 MiB range GET ${l.rangeGet1MiBMs.toFixed(1)} ms, ` +
      `HEAD ${l.headMs.toFixed(1)} ms, 4 KiB PUT ${l.smallPutMs.toFixed(1)} ms (radosgw ${r.options.rgwNoDelay ? 'with tcp_nodelay=1' : 'default: Nagle on, small responses wait for the delayed ACK'})`);
    const put2 = c.s3.find((s) => s.concurrency === 2) ?? c.s3[0];
    const pipe = c.primitives.mbps.pipeline;
    p();
    p('## fraction of the ceilings reached (first backup)');
    for (const run of r.runs) {
      const first = run.steps.find((s) => s.step === 'first-backup')!;
      for (const tool of ['lifeboat', 'restic'] as const) {
        const t = first[tool];
        const up = t.storedDeltaBytes / 1e6 / t.wallS;
        const read = run.mix.bytes / 1e6 / t.wallS;
        p(`   ${pad(`${fmtBytes(run.mix.bytes)} ${tool}`, 20)} uploads ${up.toFixed(0)} MB/s = ${put2 ? `${((100 * up) / put2.putMBps).toFixed(0)}% of the raw S3 PUT ceiling (${put2.putMBps.toFixed(0)} MB/s, ${put2.concurrency} in flight)` : 'n/a'}; ` +
          `ingests ${read.toFixed(0)} MB/s = ${pipe ? `${((100 * read) / pipe).toFixed(0)}% of one core's chunk+id+zstd3+seal pipeline (${pipe} MB/s)` : 'n/a'}`);
      }
    }
  }
  p();
  p(`## fixed cost per command: \`lifeboat --help\` ${fmtS(r.startup.lifeboat.wallS)}, ${fmtMB(r.startup.lifeboat.peakRssBytes)} RSS (node + tsx + CLI load); ` +
    `\`restic version\` ${fmtS(r.startup.restic.wallS)}, ${fmtMB(r.startup.restic.peakRssBytes)} RSS`);
  if (r.profile) {
    const pr = r.profile;
    for (const [what, prof, wall] of [['first backup', pr.backup, pr.backupWallS], ['full restore', pr.restore, pr.restoreWallS]] as const) {
      if (!prof) continue;
      p();
      p(`## lifeboat CPU profile, ${what} of the ${fmtBytes(r.runs[0]!.mix.bytes)} corpus (node --cpu-prof; ${fmtS(wall)} wall with the profiler, ${fmtS(prof.totalS)} sampled on the main thread)`);
      for (const s of prof.stages) p(`   ${lpad(`${s.pct.toFixed(1)}%`, 6)} ${lpad(fmtS(s.s), 9)}  ${s.stage}`);
      p('   top self time:');
      for (const f of prof.topSelf.slice(0, 12)) p(`   ${lpad(`${f.pct.toFixed(1)}%`, 6)} ${lpad(fmtS(f.s), 9)}  ${f.fn}`);
    }
  }
  p();
  p('## targets');
  for (const v of r.verdicts) p(`   ${v.ok ? 'ok  ' : `${MISS}:`} ${v.target}: ${v.detail}`);
  p(`# done in ${(r.durationS / 60).toFixed(1)} min`);
  return out.join('\n');
}

export function verdicts(r: Pick<Results, 'runs'>): Results['verdicts'] {
  const v: Results['verdicts'] = [];
  for (const run of r.runs) {
    for (const s of run.steps) {
      v.push({ target: `${fmtBytes(run.mix.bytes)} ${STEP_LABEL[s.step]}: lifeboat/restic <= ${RATIO_TARGET.toFixed(1)}`, ok: s.ratio <= RATIO_TARGET, detail: `${s.ratio.toFixed(2)} (${fmtS(s.lifeboat.wallS)} vs ${fmtS(s.restic.wallS)})` });
    }
    const peak = Math.max(...run.steps.map((s) => s.lifeboat.peakRssBytes));
    v.push({ target: `${fmtBytes(run.mix.bytes)} lifeboat peak RSS <= 300 MB`, ok: peak <= RSS_TARGET_BYTES, detail: fmtMB(peak) });
    const bad = (['lifeboat', 'restic'] as const).filter((t) => run.verified[t].length);
    v.push({ target: `${fmtBytes(run.mix.bytes)} restores match the corpus`, ok: bad.length === 0, detail: bad.length ? `mismatch: ${bad.join(', ')}` : 'both tools, every file' });
  }
  if (r.runs.length === 2) {
    // The target is about the run's peak (the highest step); per-step growth is shown in the table above.
    const peak = (run: SizeRun) => Math.max(...run.steps.map((s) => s.lifeboat.peakRssBytes));
    const [a, b] = [peak(r.runs[0]!), peak(r.runs[1]!)];
    const growth = b / a - 1;
    v.push({
      target: `lifeboat peak RSS within ${RSS_SCALING_TARGET * 100}% when the corpus doubles`,
      ok: Math.abs(growth) <= RSS_SCALING_TARGET,
      detail: `${fmtMB(a)} -> ${fmtMB(b)} (${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}%)`,
    });
  }
  return v;
}

export type { ChangeSummary, CorpusMix, Primitives, S3Ceiling };

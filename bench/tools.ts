// The two tools under test, driven through their CLIs exactly as a user would: Lifeboat (the executable
// bin/lifeboat.mjs, which runs its cached bundle in one node process) and restic from Debian. Each gets its own
// bucket on the same radosgw; every call is measured (bench/measure.ts). Init is not part of the comparison.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { aptInstall, isRoot, which } from '../scripts/services/util.mjs';
import { check, measure, type Env, type Measured } from './measure';
import type { Rgw } from './storage';

export type ToolName = 'lifeboat' | 'restic';
export type BackupSummary = { filesNew?: number; filesChanged?: number; filesUnmodified?: number; addedBytes?: number };

/** Extra node flags for lifeboat's process (e.g. --cpu-prof, which NODE_OPTIONS does not allow); restic ignores them. */
export type RunExtra = { nodeArgs?: string[] };

export interface Tool {
  readonly name: ToolName;
  readonly bucket: string;
  init(): Promise<Measured>;
  backup(dir: string, extra?: RunExtra): Promise<Measured & { summary: BackupSummary }>;
  restore(target: string, extra?: RunExtra): Promise<Measured>;
  /** restic only: `restore --verify`, which re-reads every restored file and checks it, as Lifeboat's restore always does. */
  restoreVerified?(target: string): Promise<Measured>;
  /** Opens the repository and lists its snapshots: the fixed cost every command pays. */
  snapshots(): Promise<Measured>;
}

/** The environment without anything that would change a tool's defaults (NODE_OPTIONS, RESTIC_*, LIFEBOAT_*). */
function cleanEnv(): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(NODE_OPTIONS|RESTIC_|LIFEBOAT_|AWS_)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * How to start the CLI as users do: the executable itself, whose first line carries its node flags; with
 * extra node arguments (profiling), node with the environment and flags read from that line, then the extra ones.
 */
export function lifeboatCommand(repoRoot: string, nodeArgs: string[] = []): [string, string[]] {
  const cli = join(repoRoot, 'bin/lifeboat.mjs');
  if (nodeArgs.length === 0) return [cli, []];
  const shebang = readFileSync(cli, 'utf8').split('\n', 1)[0]!;
  const words = shebang.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const env = words.filter((w) => /^[A-Z_]+=/.test(w)); // the malloc settings
  return ['/usr/bin/env', [...env, process.execPath, ...flags, ...nodeArgs, cli]];
}

export function lifeboat(opts: { repoRoot: string; rgw: Rgw; bucket: string; password: string; tmpDir: string }): Tool {
  const env = {
    ...cleanEnv(),
    LIFEBOAT_REPOSITORY: `s3://${opts.bucket}/repo`,
    LIFEBOAT_S3_ENDPOINT: opts.rgw.endpoint,
    LIFEBOAT_S3_REGION: opts.rgw.region,
    LIFEBOAT_S3_ACCESS_KEY_ID: opts.rgw.accessKeyId,
    LIFEBOAT_S3_SECRET_ACCESS_KEY: opts.rgw.secretAccessKey,
    LIFEBOAT_PASSWORD: opts.password,
  };
  const run = (args: string[], extra: RunExtra = {}) => {
    const [file, prefix] = lifeboatCommand(opts.repoRoot, extra.nodeArgs);
    return measure(file, [...prefix, '--json', ...args], { env, cwd: opts.repoRoot, tmpDir: opts.tmpDir });
  };
  return {
    name: 'lifeboat',
    bucket: opts.bucket,
    init: async () => check('lifeboat init', await run(['init'])),
    backup: async (dir, extra) => {
      const m = check('lifeboat backup', await run(['backup', dir], extra));
      let summary: BackupSummary = {};
      try {
        const s = (JSON.parse(m.stdout) as { summary: { newFiles: number; changedFiles: number; unchangedFiles: number; addedBytes: number } }).summary;
        summary = { filesNew: s.newFiles, filesChanged: s.changedFiles, filesUnmodified: s.unchangedFiles, addedBytes: s.addedBytes };
      } catch {
        /* summary is informative only */
      }
      return { ...m, summary };
    },
    restore: async (target, extra) => check('lifeboat restore', await run(['restore', 'latest', '--target', target], extra)),
    snapshots: async () => check('lifeboat snapshots', await run(['snapshots'])),
  };
}

export function resticVersion(): string {
  const r = spawnSync('restic', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

/** restic on PATH, apt-installed when missing and running as root, else a clear error. */
export async function ensureRestic(log: (m: string) => void): Promise<void> {
  if (which('restic')) return;
  if (!isRoot()) throw new Error('restic is not installed: install it with `sudo apt-get install -y restic` (Debian/Ubuntu) and run the bench again');
  log('restic is missing: apt-get install -y restic');
  await aptInstall(['restic'], { log });
  if (!which('restic')) throw new Error('apt-get installed restic but it is still not on PATH');
}

export function restic(opts: { rgw: Rgw; bucket: string; password: string; tmpDir: string; cacheDir: string }): Tool {
  const env = {
    ...cleanEnv(),
    RESTIC_REPOSITORY: `s3:${opts.rgw.endpoint}/${opts.bucket}`,
    RESTIC_PASSWORD: opts.password,
    RESTIC_CACHE_DIR: opts.cacheDir,
    AWS_ACCESS_KEY_ID: opts.rgw.accessKeyId,
    AWS_SECRET_ACCESS_KEY: opts.rgw.secretAccessKey,
    AWS_DEFAULT_REGION: opts.rgw.region,
  };
  const run = (args: string[]) => measure('restic', args, { env, tmpDir: opts.tmpDir });
  return {
    name: 'restic',
    bucket: opts.bucket,
    init: async () => check('restic init', await run(['init'])),
    backup: async (dir) => {
      const m = check('restic backup', await run(['backup', '--json', dir]));
      let summary: BackupSummary = {};
      for (const line of m.stdout.split('\n')) {
        if (!line.includes('"summary"')) continue;
        try {
          const s = JSON.parse(line) as { files_new: number; files_changed: number; files_unmodified: number; data_added: number };
          summary = { filesNew: s.files_new, filesChanged: s.files_changed, filesUnmodified: s.files_unmodified, addedBytes: s.data_added };
        } catch {
          /* informative only */
        }
      }
      return { ...m, stdout: '', summary };
    },
    restore: async (target) => check('restic restore', await run(['restore', 'latest', '--target', target])),
    restoreVerified: async (target) => check('restic restore --verify', await run(['restore', 'latest', '--verify', '--target', target])),
    snapshots: async () => check('restic snapshots', await run(['snapshots'])),
  };
}

// Lifeboat vs pgBackRest on one pgbench database, side by side in one run. A command, not a test:
//
//   npx tsx bench/pg.ts [--scale 60] [--storage local|s3|both] [--json]
//
// One throwaway PostgreSQL cluster (scripts/services/postgres.mjs) with `pgbench -i -s SCALE` (scale 60 is
// about 900 MB). WAL is archived by both tools (archive_command runs lifeboat wal-push for each Lifeboat
// repository, then pgbackrest archive-push). For each storage, alternating which tool goes first:
//   backup   lifeboat database base-backup          vs  pgbackrest backup --type=full (zstd, process-max 2)
//   restore  lifeboat database recover --no-start   vs  pgbackrest restore (both: files + recovery settings,
//            --immediate (unpack + pg_verifybackup)      with checksums verified)
//   RTO      from nothing to a promoted server that accepts writes and counts pgbench_accounts right:
//            lifeboat database recover --immediate (it starts the server and waits) vs pgbackrest restore,
//            pg_ctl start and waiting. The time an operator waits.
// Restores and RTOs run twice per tool in A B B A order, each into a fresh ext4 of its own (bench/scratch-fs.ts),
// and the faster of each tool's two counts. Before
// the steps, 3x the database's size is written to the disk, synced and deleted: on these VMs the first
// write to a never-used block of the virtual disk is far slower than later ones, so the tool that wrote
// first (1 GB into fresh blocks) lost ~2 s to the one that wrote into the blocks it had just freed.
// Storage: a local directory for both, and/or one RADOS Gateway for both over https (pgBackRest speaks S3
// only over TLS: radosgw gets an ssl_endpoint with a self-signed certificate; Lifeboat trusts it through
// LIFEBOAT_S3_CA_FILE). Prints wall times, ratios (Lifeboat / pgBackRest; target <= 1.0), peak RSS, CPU
// and repository size. apt-installs pgbackrest when missing (root). Everything is removed at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { ensurePostgres as ensurePostgresJs } from '../scripts/services/postgres.mjs';
import { startRgw as startRgwJs } from '../scripts/services/rgw.mjs';
import { aptInstall, freePort, isRoot, which } from '../scripts/services/util.mjs';
import { restoreTarget, type RestoreTarget } from './scratch-fs';
import { check, killRunning, measure, warmDisk, type Measured } from './measure';
import type { Rgw } from './storage';
import { lifeboatCommand } from './tools';

const ensurePostgres = ensurePostgresJs as unknown as (o: { dataDir: string; port: number; log: (m: string) => void; extraConf?: string }) => Promise<{ stop: () => Promise<void> }>;
const startRgw = startRgwJs as unknown as (o: { log?: (m: string) => void; port?: number; config?: Record<string, string> }) => Promise<Rgw & { stop: () => Promise<void> }>;
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(root, 'bin/lifeboat.mjs');
const PG_BIN = '/usr/lib/postgresql/15/bin';
const PASSWORD = 'lifeboat-pg-bench';
const MiB = 1024 * 1024;

type Options = { scale: number; storages: ('local' | 's3')[]; json: boolean; profile?: string };
type Step = { tool: 'lifeboat' | 'pgbackrest'; m: Measured };
type StorageResult = { storage: string; backup: Step[]; restore: Step[]; rto: { tool: string; seconds: number }[]; repoBytes: Record<string, number> };

const log = (m: string) => process.stderr.write(`[pg-bench] ${m}\n`);
/**
 * Every step starts with nothing left to write back: otherwise the kernel's flusher is still writing the
 * previous step's gigabyte (or pgbench's load) during the next one, on the same 2 cores and disk, and
 * whichever tool runs first after a big write pays for it.
 */
const settle = () => execFileSync('sync');

function parseArgs(argv: string[]): Options {
  const o: Options = { scale: 60, storages: ['local', 's3'], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i]) ?? '';
    if (a.startsWith('--scale')) {
      o.scale = Number(value());
      if (!Number.isInteger(o.scale) || o.scale < 1) throw new Error('--scale must be a whole number >= 1 (60 is about 900 MB)');
    } else if (a.startsWith('--storage')) {
      const v = value();
      if (!['local', 's3', 'both'].includes(v)) throw new Error('--storage must be local, s3 or both');
      o.storages = v === 'both' ? ['local', 's3'] : [v as 'local' | 's3'];
    } else if (a === '--json') o.json = true;
    else if (a.startsWith('--profile')) o.profile = resolve(value());
    else throw new Error(`unknown argument ${a}; usage: npx tsx bench/pg.ts [--scale 60] [--storage local|s3|both] [--json] [--profile DIR]`);
  }
  return o;
}

const ids = () => ({ uid: Number(execFileSync('id', ['-u', 'postgres']).toString()), gid: Number(execFileSync('id', ['-g', 'postgres']).toString()) });
function ownByPostgres(...paths: string[]) {
  if (!isRoot()) return;
  const { uid, gid } = ids();
  for (const p of paths) chownSync(p, uid, gid);
}
const asPostgres = (args: string[]) => (isRoot() ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0]!, args.slice(1)]) as [string, string[]];

function duBytes(path: string): number {
  let n = 0;
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else n += st.size;
  };
  walk(path);
  return n;
}

async function sql(port: number, text: string): Promise<pg.QueryResult> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

/** Waits until the server on `port` accepts writes (recovery finished, promoted); fails when it died. */
async function waitWritable(port: number, dataDir: string, logName: string, timeoutMs = 600_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  const started = Date.now();
  for (;;) {
    if (Date.now() - started > 5000 && !existsSync(join(dataDir, 'postmaster.pid'))) {
      throw new Error(`the restored server in ${dataDir} stopped: ${readFileSync(join(dataDir, logName), 'utf8').split('\n').filter((l) => /FATAL|PANIC/.test(l)).slice(-3).join(' | ')}`);
    }
    try {
      const r = await sql(port, 'SELECT pg_is_in_recovery() AS r');
      if (r.rows[0].r === false) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`the restored server on port ${port} did not finish recovery within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function selfSignedCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'rgw-cert.pem');
  const key = join(dir, 'rgw-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  return { cert, key };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!which('pgbackrest')) {
    if (!isRoot()) throw new Error('pgbackrest is not installed: sudo apt-get install -y pgbackrest');
    log('pgbackrest is missing: apt-get install -y pgbackrest');
    await aptInstall(['pgbackrest'], { log });
  }
  const work = mkdtempSync(join(tmpdir(), 'lifeboat-pg-bench-'));
  // runuser'd tools must reach everything below the work dir.
  execFileSync('chmod', ['o+x', work]);
  const cleanups: (() => Promise<void> | void)[] = [() => rmSync(work, { recursive: true, force: true })];
  const cleanup = async () => {
    killRunning();
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch((e: Error) => log(`cleanup: ${e.message}`));
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const results: StorageResult[] = [];
    // Storage set-up first: the archive command needs every repository.
    const tls = selfSignedCert(work);
    let rgw: (Rgw & { stop: () => Promise<void> }) | undefined;
    let httpsPort = 0;
    if (o.storages.includes('s3')) {
      const port = await freePort();
      httpsPort = await freePort();
      rgw = await startRgw({ log, port, config: { rgw_frontends: `beast endpoint=127.0.0.1:${port} ssl_endpoint=127.0.0.1:${httpsPort} ssl_certificate=${tls.cert} ssl_private_key=${tls.key}` } });
      cleanups.push(() => rgw!.stop());
      execFileSync('openssl', ['version']);
    }
    const bucket = `pg-bench-${Date.now().toString(36)}`;
    const lbEnv = (storage: 'local' | 's3'): Record<string, string> =>
      storage === 'local'
        ? { LIFEBOAT_REPOSITORY: join(work, 'lifeboat-repo'), LIFEBOAT_PASSWORD: PASSWORD, LIFEBOAT_CACHE_DIR: 'off' }
        : {
            LIFEBOAT_REPOSITORY: `s3://${bucket}/lifeboat`,
            LIFEBOAT_S3_ENDPOINT: `https://127.0.0.1:${httpsPort}`,
            LIFEBOAT_S3_REGION: rgw!.region,
            LIFEBOAT_S3_ACCESS_KEY_ID: rgw!.accessKeyId,
            LIFEBOAT_S3_SECRET_ACCESS_KEY: rgw!.secretAccessKey,
            LIFEBOAT_S3_CA_FILE: tls.cert,
            LIFEBOAT_PASSWORD: PASSWORD,
            LIFEBOAT_CACHE_DIR: 'off',
          };
    const baseEnv = { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/root', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    let profiled = 0;
    // --profile DIR: every lifeboat step writes a V8 CPU profile into DIR/<n>-<storage>-<command>/.
    const profileArgs = (storage: string, args: string[]) => (o.profile ? [`--cpu-prof`, `--cpu-prof-dir=${join(o.profile, `${++profiled}-${storage}-${args.slice(0, 2).join('-')}`)}`] : []);
    const lifeboat = (storage: 'local' | 's3', args: string[]) => {
      const [file, prefix] = lifeboatCommand(root, profileArgs(storage, args));
      return measure(file, [...prefix, ...args], { env: { ...baseEnv, ...lbEnv(storage) }, tmpDir: work, timeoutS: 3600 });
    };

    mkdirSync(join(work, 'lifeboat-repo'));
    mkdirSync(join(work, 'pgbackrest-repo'));
    mkdirSync(join(work, 'pgbackrest-log'));
    for (const storage of o.storages) check(`lifeboat init (${storage})`, await lifeboat(storage, ['init']));
    // wal-push runs as postgres: it writes into the local repository's wal/ and reads the env files.
    execFileSync('chown', ['-R', 'postgres:postgres', join(work, 'lifeboat-repo'), join(work, 'pgbackrest-repo'), join(work, 'pgbackrest-log')]);
    const envFile = (storage: 'local' | 's3') => {
      const f = join(work, `wal-${storage}.env`);
      writeFileSync(f, Object.entries(lbEnv(storage)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join('\n'), { mode: 0o600 });
      ownByPostgres(f);
      return f;
    };

    const port = await freePort();
    const pgdata = join(work, 'cluster', 'data');
    const pgbrConf = join(work, 'pgbackrest.conf');
    const repoLines = [
      `repo1-path=${join(work, 'pgbackrest-repo')}`,
      ...(rgw
        ? [
            'repo2-type=s3', `repo2-s3-bucket=${bucket}`, 'repo2-s3-endpoint=127.0.0.1', `repo2-storage-port=${httpsPort}`, 'repo2-s3-uri-style=path', 'repo2-storage-verify-tls=n',
            `repo2-s3-key=${rgw.accessKeyId}`, `repo2-s3-key-secret=${rgw.secretAccessKey}`, `repo2-s3-region=${rgw.region}`, 'repo2-path=/pgbackrest',
          ]
        : []),
    ];
    writeFileSync(
      pgbrConf,
      ['[global]', ...repoLines, 'compress-type=zst', 'process-max=2', 'start-fast=y', 'log-level-console=warn', 'log-level-file=off', `lock-path=${join(work, 'pgbackrest-log')}`, 'repo1-retention-full=9', ...(rgw ? ['repo2-retention-full=9'] : []), '', '[bench]', `pg1-path=${pgdata}`, `pg1-port=${port}`, `pg1-socket-path=${join(work, 'cluster', 'socket')}`, ''].join('\n'),
    );
    ownByPostgres(pgbrConf);
    const pgbackrest = (args: string[]) => {
      const [cmd, argv] = asPostgres(['pgbackrest', `--config=${pgbrConf}`, '--stanza=bench', ...args]);
      return measure(cmd, argv, { env: { ...baseEnv }, tmpDir: work, timeoutS: 3600 });
    };

    // pgbench's initial load is not archived (archive_command accepts and drops it): base backups come after.
    log(`starting PostgreSQL and loading pgbench scale ${o.scale}`);
    const server = await ensurePostgres({ dataDir: join(work, 'cluster'), port, log, extraConf: "archive_mode = on\narchive_command = '/bin/true'\nmax_wal_size = '4GB'\n" });
    cleanups.push(() => server.stop());
    const t0 = Date.now();
    execFileSync(join(PG_BIN, 'pgbench'), ['-i', '-q', '-s', String(o.scale), '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'postgres'], { stdio: 'ignore' });
    await sql(port, 'CHECKPOINT');
    const dbBytes = Number((await sql(port, 'SELECT sum(pg_database_size(oid))::bigint AS n FROM pg_database')).rows[0].n);
    log(`loaded ${(dbBytes / MiB).toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    warmDisk(work, 3 * dbBytes, log);
    // Every restored data directory goes to a fresh ext4 of its own (bench/scratch-fs.ts).
    let restores = 0;
    const target = (name: string): RestoreTarget => {
      const t = restoreTarget(work, 1.5 * dbBytes + 1024 ** 3, `${name}-${++restores}`, log);
      if (restores === 1) log(`restores go to ${t.describe ? `${t.describe}, a new one each` : work}`);
      cleanups.push(() => t.drop()); // after a failed step; the server in it is stopped first (cleanups run in reverse)
      return t;
    };
    const archive = [
      ...o.storages.map((s) => `${process.execPath} ${CLI} --env-file ${envFile(s)} wal-push %p`),
      `pgbackrest --config=${pgbrConf} --stanza=bench archive-push %p`,
    ].join(' && ');
    await sql(port, `ALTER SYSTEM SET archive_command = '${archive.replace(/'/g, "''")}'`);
    await sql(port, 'SELECT pg_reload_conf()');
    check('pgbackrest stanza-create', await pgbackrest(['stanza-create']));
    const accounts = Number((await sql(port, 'SELECT count(*)::bigint AS n FROM pgbench_accounts')).rows[0].n);

    for (const [i, storage] of o.storages.entries()) {
      const repoOpt = storage === 'local' ? '--repo=1' : '--repo=2';
      const r: StorageResult = { storage, backup: [], restore: [], rto: [], repoBytes: {} };
      const order: ('lifeboat' | 'pgbackrest')[] = i % 2 === 0 ? ['lifeboat', 'pgbackrest'] : ['pgbackrest', 'lifeboat'];
      for (const tool of order) {
        log(`${storage}: ${tool} backup`);
        settle();
        const m =
          tool === 'lifeboat'
            ? check('lifeboat base-backup', await lifeboat(storage, ['database', 'base-backup', '--host', '127.0.0.1', '--port', String(port), '--user', 'postgres']))
            : check('pgbackrest backup', await pgbackrest([repoOpt, 'backup', '--type=full']));
        r.backup.push({ tool, m });
      }
      if (storage === 'local') r.repoBytes = { lifeboat: duBytes(join(work, 'lifeboat-repo')), pgbackrest: duBytes(join(work, 'pgbackrest-repo')) };
      const twice = [...order, ...[...order].reverse()]; // A B B A: the faster of each tool's two runs counts
      for (const tool of twice) {
        const { dir, drop } = target(`restore-${storage}-${tool}`);
        log(`${storage}: ${tool} restore (files only)`);
        settle();
        if (tool === 'lifeboat') {
          r.restore.push({ tool, m: check('lifeboat recover --no-start', await lifeboat(storage, ['database', 'recover', '--data-dir', dir, '--immediate', '--no-start'])) });
        } else {
          mkdirSync(dir, { mode: 0o700 });
          ownByPostgres(dir);
          r.restore.push({ tool, m: check('pgbackrest restore', await pgbackrest([repoOpt, 'restore', `--pg1-path=${dir}`, '--type=immediate', '--target-action=promote', '--archive-mode=off'])) });
        }
        drop();
      }
      for (const tool of twice) {
        // RTO: from nothing to a promoted server that answers, the way each tool is meant to be run.
        const { dir, drop } = target(`rto-${storage}-${tool}`);
        const rport = await freePort();
        log(`${storage}: ${tool} restore, recovery and start (RTO)`);
        settle();
        const t = Date.now();
        if (tool === 'lifeboat') {
          check('lifeboat recover', await lifeboat(storage, ['database', 'recover', '--data-dir', dir, '--immediate', '--port', String(rport), '--listen-addresses', '127.0.0.1', '--socket-dir', dir]));
        } else {
          mkdirSync(dir, { mode: 0o700 });
          ownByPostgres(dir);
          check('pgbackrest restore', await pgbackrest([repoOpt, 'restore', `--pg1-path=${dir}`, '--type=immediate', '--target-action=promote', '--archive-mode=off']));
          writeFileSync(join(dir, 'postgresql.auto.conf'), `\nport = ${rport}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${dir}'\n`, { flag: 'a' });
          spawnSync(...asPostgres([join(PG_BIN, 'pg_ctl'), '-D', dir, '-l', join(dir, 'bench.log'), '-W', 'start']), { stdio: 'ignore' });
        }
        cleanups.push(() => void spawnSync(...asPostgres([join(PG_BIN, 'pg_ctl'), '-D', dir, '-m', 'immediate', 'stop']), { stdio: 'ignore' }));
        await waitWritable(rport, dir, tool === 'lifeboat' ? 'lifeboat-recovery.log' : 'bench.log');
        const n = Number((await sql(rport, 'SELECT count(*)::bigint AS n FROM pgbench_accounts')).rows[0].n);
        if (n !== accounts) throw new Error(`${tool}: the restored database has ${n} pgbench_accounts rows, the original ${accounts}`);
        r.rto.push({ tool, seconds: (Date.now() - t) / 1000 });
        spawnSync(...asPostgres([join(PG_BIN, 'pg_ctl'), '-D', dir, '-m', 'fast', '-w', 'stop']), { stdio: 'ignore' });
        drop();
      }
      results.push(r);
      if (!o.json && i < o.storages.length - 1) report(o, dbBytes, [r]); // a later failure keeps these figures
    }
    report(o, dbBytes, results);
  } finally {
    await cleanup();
  }
}

function report(o: Options, dbBytes: number, results: StorageResult[]) {
  // The faster run of a tool (restores and RTOs run twice each).
  const get = (steps: Step[], tool: string) => steps.filter((s) => s.tool === tool).reduce((a, b) => (b.m.wallS < a.m.wallS ? b : a)).m;
  const rows = results.flatMap((r) => {
    const line = (step: string, lb: number, br: number, lbM?: Measured, brM?: Measured) => ({
      storage: r.storage, step, lifeboatS: lb, pgbackrestS: br, ratio: lb / br,
      lifeboatRssMiB: lbM ? lbM.peakRssBytes / MiB : null, pgbackrestRssMiB: brM ? brM.peakRssBytes / MiB : null,
      lifeboatCpuS: lbM ? lbM.cpuUserS + lbM.cpuSysS : null, pgbackrestCpuS: brM ? brM.cpuUserS + brM.cpuSysS : null,
    });
    const rto = (tool: string) => Math.min(...r.rto.filter((x) => x.tool === tool).map((x) => x.seconds));
    return [
      line('backup', get(r.backup, 'lifeboat').wallS, get(r.backup, 'pgbackrest').wallS, get(r.backup, 'lifeboat'), get(r.backup, 'pgbackrest')),
      line('restore', get(r.restore, 'lifeboat').wallS, get(r.restore, 'pgbackrest').wallS, get(r.restore, 'lifeboat'), get(r.restore, 'pgbackrest')),
      line('RTO (restore + recovery until writable)', rto('lifeboat'), rto('pgbackrest')),
    ];
  });
  if (o.json) {
    process.stdout.write(`${JSON.stringify({ scale: o.scale, databaseBytes: dbBytes, rows, repoBytes: results.map((r) => ({ storage: r.storage, ...r.repoBytes })) }, null, 2)}\n`);
    return;
  }
  const f = (n: number | null, d = 2) => (n === null ? '-' : n.toFixed(d));
  const out = [
    `pgbench scale ${o.scale}: ${(dbBytes / MiB).toFixed(0)} MiB in all databases; ${execFileSync('pgbackrest', ['version']).toString().trim()}; target: every ratio <= 1.0`,
    '',
    '| storage | step | Lifeboat s | pgBackRest s | ratio | RSS MiB (L / P) | CPU s (L / P) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.storage} | ${r.step} | ${f(r.lifeboatS)} | ${f(r.pgbackrestS)} | ${f(r.ratio)}${r.ratio > 1 ? ' MISS' : ''} | ${f(r.lifeboatRssMiB, 0)} / ${f(r.pgbackrestRssMiB, 0)} | ${f(r.lifeboatCpuS, 1)} / ${f(r.pgbackrestCpuS, 1)} |`),
    ...results.filter((r) => r.repoBytes.lifeboat).map((r) => `\nrepository size after one backup each (local): Lifeboat ${(r.repoBytes.lifeboat! / MiB).toFixed(1)} MiB (with its WAL), pgBackRest ${(r.repoBytes.pgbackrest! / MiB).toFixed(1)} MiB`),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`pg bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});

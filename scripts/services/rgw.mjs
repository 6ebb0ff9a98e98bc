// A throwaway single-node Ceph RADOS Gateway (real S3) for tests, all on 127.0.0.1.
// Contract:
//   startRgw({ dataDir?, port?, log?, storageClasses = [], config = {}, accessKeyId?, secretAccessKey?,
//              timeoutMs = 60000 })
//     -> { endpoint: 'http://127.0.0.1:PORT', region: 'us-east-1', accessKeyId, secretAccessKey,
//          storageClasses, dir, logDir, stop }
//   - Everything (ceph.conf, mon store, osd, logs, sockets) lives in a fresh directory created inside
//     dataDir (default: the OS temp dir); stop() removes it. Ports: mon and (unless given) rgw are free
//     ports picked at start, so several instances can run side by side.
//   - ceph-mon + one ceph-osd (memstore: data in RAM) + radosgw (beast on 127.0.0.1:PORT), auth none,
//     msgr v1 only, pool size 1. An S3 user with the given (or default) keys is created with radosgw-admin.
//   - storageClasses: e.g. ['GLACIER'] are added to the default placement before radosgw starts (no restart).
//   - config: extra `key = value` lines for [global], e.g. { 'rgw lc debug interval': 10 }.
//   - Ready when a CreateBucket + DeleteBucket round trip succeeds.
//   - stop(): SIGKILL radosgw, osd and mon, wait for them, remove the directory (when startRgw itself
//     fails, the daemons are killed but the directory is kept for its logs). The daemons are also
//     SIGKILLed if this process exits or dies (exit hook + setpriv --pdeathsig); leftover directories of
//     dead owners are swept on the next start.
//   - radosgw missing: apt-get install ceph-mon ceph-osd radosgw ceph-common (root) or an Error.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aptInstall, freePort, isPortFree, isRoot, makeLog, onExit, run, sleep, spawnDaemon, tailFile, waitFor, which } from './util.mjs';

const PACKAGES = ['ceph-mon', 'ceph-osd', 'radosgw', 'ceph-common'];
const TOOLS = ['ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'monmaptool', 'ceph'];

async function ensureTools(L) {
  const find = () => Object.fromEntries(TOOLS.map((t) => [t, which(t)]));
  let bins = find();
  let missing = TOOLS.filter((t) => !bins[t]);
  if (!missing.length) return bins;
  if (!isRoot()) {
    throw new Error(`Ceph RADOS Gateway tools are missing (${missing.join(', ')}); install them with \`sudo apt-get install -y --no-install-recommends ${PACKAGES.join(' ')}\``);
  }
  await aptInstall(PACKAGES, { log: L });
  bins = find();
  missing = TOOLS.filter((t) => !bins[t]);
  if (missing.length) throw new Error(`apt installed ${PACKAGES.join(' ')} but ${missing.join(', ')} is still missing`);
  return bins;
}

const OWNER_FILE = 'lifeboat-owner.pid';
// Removes rgw-* dirs left by a parent that was SIGKILLed (its daemons died with it via pdeathsig).
function sweepStaleDirs(parent, L) {
  let names = [];
  try {
    names = fs.readdirSync(parent).filter((n) => n.startsWith('rgw-'));
  } catch {
    return;
  }
  for (const n of names) {
    const d = path.join(parent, n);
    let pid;
    try {
      pid = Number(fs.readFileSync(path.join(d, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not ours
    }
    if (!isAlive(pid)) {
      fs.rmSync(d, { recursive: true, force: true });
      L.info(`removed ${d} left behind by dead process ${pid}`);
    }
  }
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return e.code !== 'ESRCH';
  }
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); // a zombie is dead
  } catch {
    return true;
  }
}

function cephConf({ dir, fsid, monPort, rgwPort, config }) {
  const lines = {
    fsid,
    'mon host': `v1:127.0.0.1:${monPort}`,
    'mon initial members': 'a',
    'public addr': '127.0.0.1',
    'public network': '127.0.0.1/32',
    'cluster network': '127.0.0.1/32',
    'ms bind msgr2': 'false',
    'ms bind ipv6': 'false',
    'auth cluster required': 'none',
    'auth service required': 'none',
    'auth client required': 'none',
    'auth supported': 'none',
    'run dir': `${dir}/run`,
    'admin socket': `${dir}/run/$name.asok`,
    'log file': `${dir}/log/$name.log`,
    'crash dir': `${dir}/crash`,
    'mon data': `${dir}/mon/$cluster-$id`,
    'osd data': `${dir}/osd/$cluster-$id`,
    keyring: `${dir}/keyring`,
    'osd objectstore': 'memstore',
    'memstore device bytes': String(16 * 1024 ** 3),
    'mon allow pool size one': 'true',
    'mon allow pool delete': 'true',
    'mon warn on pool no redundancy': 'false',
    // The mon store is tiny and the data lives in RAM: never shut the mon down because the disk is fullish.
    'mon data avail warn': '1',
    'mon data avail crit': '0',
    'osd pool default size': '1',
    'osd pool default min size': '1',
    'osd pool default pg num': '8',
    'osd pool default pgp num': '8',
    'osd pool default pg autoscale mode': 'off',
    'osd crush chooseleaf type': '0',
    'mon max pg per osd': '1000',
    // We place osd.0 in the CRUSH map ourselves: the OSD's own early mon commands sometimes carry a zero
    // fsid ("wrong fsid", osd exits) when several clusters start at once.
    'osd crush update on start': 'false',
    'osd class update on start': 'false',
    // Each mon command otherwise waits ~1 s for the next paxos round: 11 s -> 1 s for the rgw pools.
    'paxos propose interval': '0.05',
    'paxos min wait': '0.01',
    'rgw data': `${dir}/rgw`,
    'rgw frontends': `beast endpoint=127.0.0.1:${rgwPort}`,
    ...Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/_/g, ' '), String(v)])),
  };
  return `[global]\n${Object.entries(lines).map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
}

export async function startRgw({
  dataDir,
  port,
  log,
  storageClasses = [],
  config = {},
  accessKeyId = 'LIFEBOATTESTACCESSKEY',
  secretAccessKey = 'lifeboat-test-secret-key-0123456789abcdef',
  timeoutMs = 60_000,
} = {}) {
  const L = makeLog(log);
  const t0 = Date.now();
  for (const sc of storageClasses) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(sc)) throw new Error(`startRgw: storage class names look like GLACIER or STANDARD_IA, got ${JSON.stringify(sc)}`);
  }
  const bins = await ensureTools(L);
  const parent = path.resolve(dataDir || os.tmpdir());
  fs.mkdirSync(parent, { recursive: true });
  sweepStaleDirs(parent, L);
  const dir = fs.mkdtempSync(path.join(parent, 'rgw-'));
  fs.writeFileSync(path.join(dir, OWNER_FILE), String(process.pid));
  const logDir = path.join(dir, 'log');
  for (const d of ['run', 'log', 'mon', 'osd/ceph-0', 'rgw', 'crash']) fs.mkdirSync(path.join(dir, d), { recursive: true });

  const daemons = [];
  let stopped = false;
  const killAllSync = () => {
    for (const c of daemons) {
      try {
        if (!c.exitInfo) process.kill(c.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onExit(killAllSync);
  const stop = async ({ keepDir = false } = {}) => {
    if (stopped) return;
    stopped = true;
    // radosgw ignores SIGTERM for >10 s and memstore data is throwaway anyway: SIGKILL everything.
    await Promise.all(daemons.map((c) => c.stop('SIGKILL', 5000)));
    if (!keepDir) fs.rmSync(dir, { recursive: true, force: true });
    unregister();
  };

  try {
    const monPort = await freePort();
    const rgwPort = port ?? (await freePort());
    if (!(await isPortFree(rgwPort))) {
      await stop();
      throw new Error(`cannot start radosgw: port ${rgwPort} on 127.0.0.1 is already in use; pass another port (or none to pick a free one)`);
    }
    const conf = path.join(dir, 'ceph.conf');
    const fsid = crypto.randomUUID();
    fs.writeFileSync(conf, cephConf({ dir, fsid, monPort, rgwPort, config }));
    const env = { CEPH_CONF: conf };
    const ceph = (tool, args, opts = {}) => run(bins[tool], ['-c', conf, ...args], { env, cwd: dir, timeoutMs: 60_000, ...opts });
    const daemon = (tool, args, name) => {
      const c = spawnDaemon(bins[tool], ['-c', conf, '-f', ...args], { logFile: path.join(logDir, `${name}.out`), env, cwd: dir, name });
      daemons.push(c);
      return c;
    };
    const deadDaemon = () => {
      const d = daemons.find((c) => c.exitInfo);
      return d && d.describeExit();
    };
    // Runs fn(), retrying the known start-up race: a client's first mon command can go out with a zero
    // fsid ("wrong fsid" / "problem getting command descriptions", EPERM) when several clusters start at
    // once. Names the step and any daemon that died in the error.
    const step = async (what, fn, { okIf } = {}) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn();
        } catch (e) {
          const dead = deadDaemon();
          if (!dead && okIf?.(e)) return { stdout: '', stderr: '' };
          if (!dead && attempt < 6 && /wrong fsid|problem getting command descriptions|Operation not permitted/i.test(e.message)) {
            await sleep(200 * attempt);
            continue;
          }
          throw new Error(`Ceph RADOS Gateway setup failed at "${what}": ${dead ? `${dead} (logs in ${logDir})\n` : ''}${e.message}`);
        }
      }
    };

    // 1. monitor
    await step('monmaptool', () => run(bins.monmaptool, ['--create', '--addv', 'a', `[v1:127.0.0.1:${monPort}]`, '--fsid', fsid, path.join(dir, 'monmap')]));
    await step('ceph-mon --mkfs', () => ceph('ceph-mon', ['--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap')]));
    daemon('ceph-mon', ['-i', 'a'], 'mon.a');
    // 2. one memstore OSD
    const osdUuid = crypto.randomUUID();
    const { stdout: osdId } = await step('ceph osd new', () => ceph('ceph', ['--connect-timeout', '30', 'osd', 'new', osdUuid], { timeoutMs: 40_000 }));
    if (osdId.trim() !== '0') throw new Error(`ceph osd new returned id ${osdId.trim()}, expected 0`);
    await step('ceph osd crush add', () => ceph('ceph', ['--connect-timeout', '30', 'osd', 'crush', 'add', 'osd.0', '1', 'root=default', 'host=localhost'], { timeoutMs: 40_000 }));
    await step('ceph-osd --mkfs', () => ceph('ceph-osd', ['-i', '0', '--mkfs', '--osd-uuid', osdUuid]));
    daemon('ceph-osd', ['-i', '0'], 'osd.0');
    // 3. S3 user (this also creates the default realm/zonegroup/zone and the rgw pools)
    await step('radosgw-admin user create', () => ceph('radosgw-admin', ['user', 'create', '--uid=lifeboat', '--display-name=Lifeboat tests', `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`]), {
      okIf: (e) => /exists/i.test(e.message), // an earlier attempt got through after all
    });
    for (const sc of storageClasses) {
      await step(`add storage class ${sc}`, () => ceph('radosgw-admin', ['zonegroup', 'placement', 'add', '--rgw-zonegroup=default', '--placement-id=default-placement', `--storage-class=${sc}`]));
      await step(`add storage class ${sc}`, () => ceph('radosgw-admin', ['zone', 'placement', 'add', '--rgw-zone=default', '--placement-id=default-placement', `--storage-class=${sc}`, `--data-pool=default.rgw.${sc.toLowerCase()}.data`]));
    }
    // 4. radosgw
    daemon('radosgw', ['-n', 'client.rgw'], 'client.rgw');
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    const region = 'us-east-1';
    const { S3Client, CreateBucketCommand, DeleteBucketCommand } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      endpoint,
      region,
      credentials: { accessKeyId, secretAccessKey },
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
    });
    try {
      await waitFor(
        async () => {
          const Bucket = `lifeboat-ready-${crypto.randomBytes(4).toString('hex')}`;
          await s3.send(new CreateBucketCommand({ Bucket }), { abortSignal: AbortSignal.timeout(10_000) });
          await s3.send(new DeleteBucketCommand({ Bucket }), { abortSignal: AbortSignal.timeout(10_000) });
          return true;
        },
        {
          timeoutMs,
          intervalMs: 150,
          what: `radosgw to answer S3 requests on 127.0.0.1:${rgwPort}`,
          hint: `see ${path.join(logDir, 'client.rgw.log')}`,
          abortIf: deadDaemon,
        },
      );
    } finally {
      s3.destroy();
    }
    L.info(`radosgw ready at ${endpoint} in ${((Date.now() - t0) / 1000).toFixed(1)}s (dir ${dir})`);
    return { endpoint, region, accessKeyId, secretAccessKey, storageClasses: [...storageClasses], dir, logDir, stop };
  } catch (e) {
    if (stopped) throw e; // a precondition failed before any daemon ran
    const logs = ['client.rgw', 'osd.0', 'mon.a']
      .filter((n) => fs.existsSync(path.join(logDir, `${n}.log`)))
      .map((n) => `--- ${n}.log ---\n${tailFile(path.join(logDir, `${n}.log`), 8)}`)
      .join('\n');
    await stop({ keepDir: true }).catch(() => {});
    throw new Error(`${e.message}${logs ? `\n${logs}` : ''}\n(daemons killed; logs kept in ${logDir})`);
  }
}

// A throwaway MariaDB server for tests (never the machine's own server on 3306).
// Contract:
//   ensureMariadb({ dataDir, port, log?, binlog = true }) -> { host: '127.0.0.1', port, socket, started: true, stop }
//     - mariadb-install-db into <dataDir>/data once (root: empty password, no test database), then mariadbd
//       bound to 127.0.0.1:<port> only, socket <dataDir>/mysqld.sock, pid file and error log in dataDir,
//       binary log <dataDir>/binlog (server id 1) unless binlog is false, event scheduler off (restored
//       events do not fire during tests), utf8mb4 as the server character set (as Debian's packaged
//       configuration has it), small InnoDB buffers; waits until a query answers.
//     - as root the server runs as the `mysql` OS user (dataDir and its temp-dir parents are made reachable
//       for it), otherwise as the current user.
//     - root@127.0.0.1 and root@localhost both exist without a password (tests connect over TCP).
//     - binaries missing: apt-get install mariadb-server mariadb-client (root) or an Error saying what to install.
//     - stop(): SIGTERM, waits for the exit (SIGKILL after 30 s); also runs if this process exits.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { aptInstall, isPortFree, isRoot, makeLog, run, spawnDaemon, tailFile, waitFor, which } from './util.mjs';

const OS_USER = 'mysql';

function findBinaries() {
  const server = which('mariadbd') || which('mysqld');
  const install = which('mariadb-install-db') || which('mysql_install_db');
  const client = which('mariadb') || which('mysql');
  return server && install && client ? { server, install, client } : null;
}

async function ensureBinaries(L) {
  const found = findBinaries();
  if (found) return found;
  if (!isRoot()) throw new Error('MariaDB server binaries (mariadbd, mariadb-install-db, mariadb) were not found; install them with `sudo apt-get install -y mariadb-server mariadb-client`');
  await aptInstall(['mariadb-server', 'mariadb-client'], { log: L });
  const after = findBinaries();
  if (!after) throw new Error('mariadb-server was installed with apt but mariadbd / mariadb-install-db / mariadb are still not on PATH');
  return after;
}

async function osUserIds() {
  const out = await run('id', [OS_USER]).catch(() => {
    throw new Error(`the ${OS_USER} OS user does not exist (it comes with the mariadb-server package)`);
  });
  return { uid: Number(/uid=(\d+)/.exec(out.stdout)?.[1]), gid: Number(/gid=(\d+)/.exec(out.stdout)?.[1]) };
}

/** Parents of dataDir inside the OS temp dir get o+x (search only) so the mysql user can reach it. */
function reachable(dataDir, L) {
  const tmpRoot = fs.realpathSync(os.tmpdir());
  for (let d = path.dirname(dataDir); d !== path.dirname(d); d = path.dirname(d)) {
    const st = fs.statSync(d);
    if (st.mode & 0o001) continue;
    if (!fs.realpathSync(d).startsWith(`${tmpRoot}/`)) throw new Error(`the ${OS_USER} OS user cannot reach ${dataDir}: ${d} is not searchable by others (chmod o+x it or pick another dataDir)`);
    fs.chmodSync(d, st.mode | 0o001);
    L.info(`chmod o+x ${d} so the ${OS_USER} user can reach ${dataDir}`);
  }
}

export async function ensureMariadb({ dataDir, port, log, binlog = true } = {}) {
  const L = makeLog(log);
  if (!dataDir || !port) throw new Error('ensureMariadb: dataDir and port are required');
  dataDir = path.resolve(dataDir);
  const bin = await ensureBinaries(L);
  const data = path.join(dataDir, 'data');
  const socket = path.join(dataDir, 'mysqld.sock');
  const errorLog = path.join(dataDir, 'error.log');
  if (Buffer.byteLength(socket) > 100) throw new Error(`ensureMariadb: the socket path ${socket} is too long for a Unix socket; use a shorter dataDir`);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const userArgs = isRoot() ? [`--user=${OS_USER}`] : [];
  if (isRoot()) {
    const { uid, gid } = await osUserIds();
    fs.chownSync(dataDir, uid, gid);
    reachable(dataDir, L);
  }
  const serverArgs = ['--innodb-buffer-pool-size=64M', '--innodb-log-file-size=16M', '--skip-name-resolve'];
  if (!fs.existsSync(path.join(data, 'mysql'))) {
    L.info(`mariadb-install-db ${data}`);
    await run(bin.install, ['--no-defaults', `--datadir=${data}`, ...userArgs, '--auth-root-authentication-method=normal', '--skip-test-db', ...serverArgs], { cwd: dataDir, timeoutMs: 120_000 });
  }
  if (!(await isPortFree(port))) throw new Error(`cannot start MariaDB: port ${port} on 127.0.0.1 is already in use`);

  const args = [
    '--no-defaults', `--datadir=${data}`, ...userArgs, `--socket=${socket}`, `--port=${port}`, '--bind-address=127.0.0.1',
    `--pid-file=${path.join(dataDir, 'mariadbd.pid')}`, `--log-error=${errorLog}`, '--event-scheduler=OFF', '--skip-networking=0',
    '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci',
    ...serverArgs, ...(binlog ? [`--log-bin=${path.join(dataDir, 'binlog')}`, '--server-id=1'] : []),
  ];
  const t0 = Date.now();
  const child = spawnDaemon(bin.server, args, { logFile: path.join(dataDir, 'mariadbd.out'), cwd: dataDir, name: 'mariadbd' });
  const stop = async () => child.stop('SIGTERM', 30_000);
  const sql = (q) => run(bin.client, ['--no-defaults', `--socket=${socket}`, '-uroot', '--batch', '--skip-column-names', '-e', q], { timeoutMs: 15_000 });
  try {
    await waitFor(() => sql('SELECT 1').then(() => true), {
      timeoutMs: 60_000,
      what: `MariaDB on 127.0.0.1:${port}`,
      abortIf: () => child.describeExit(),
      hint: `see ${errorLog}`,
    });
    // Tests connect over TCP: make sure root@127.0.0.1 exists (install-db's host list varies).
    await sql("CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION");
  } catch (e) {
    await stop().catch(() => {});
    throw new Error(`MariaDB did not start from ${data} on 127.0.0.1:${port}: ${e.message}\n--- ${errorLog} ---\n${tailFile(errorLog)}`);
  }
  L.info(`MariaDB started on 127.0.0.1:${port} in ${((Date.now() - t0) / 1000).toFixed(1)}s (log ${errorLog})`);
  return { host: '127.0.0.1', port, socket, started: true, stop };
}

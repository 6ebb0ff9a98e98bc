// Worker thread of the directory lister (dir-lister.ts): lists directories and lstat's their entries with
// synchronous calls, so the walking thread spends one message per directory instead of a promise round
// trip through libuv's pool per entry (~12 us of its time each, 0.2 s of a 16k-file re-backup), and never
// sees a BigInt. Plain JavaScript with no TypeScript imports (see chunk-worker.mjs for why).
// Protocol, one reply per message:
//   in:  { seq, list: dir, statFirst }  names of `dir` sorted by UTF-8 bytes, and the FileStat of the first
//        `statFirst` of them
//   out: { seq, names, stats }  or { seq, names: [], stats: [], error: { message, code } } when the
//        directory cannot be read
//   in:  { seq, stat: dir, names }  FileStat of each name in `dir`
//   out: { seq, stats }
// Each stat is a FileStat (lib/repo/tree/file-stat.mjs) or { error: { message, code } } for an entry that
// could not be lstat'ed (vanished, permission) or stored (size beyond 2^53).
import { lstatSync, readdirSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { fileStatOf } from '../../repo/tree/file-stat.mjs';

if (!parentPort) throw new Error('dir-list-worker.mjs runs only as a worker thread');
const port = parentPort;

/** @param {unknown} err */
const describe = (err) => {
  const e = /** @type {NodeJS.ErrnoException} */ (err);
  return { message: e?.message ?? String(err), code: e?.code };
};

/** `dir/name` for a normalized absolute `dir` (the archiver's childPath). */
const childPath = (/** @type {string} */ dir, /** @type {string} */ name) => (dir.endsWith('/') ? dir + name : `${dir}/${name}`);

/** @param {string} dir @param {string[]} names */
function statAll(dir, names) {
  return names.map((name) => {
    try {
      return fileStatOf(lstatSync(childPath(dir, name), { bigint: true }));
    } catch (err) {
      return { error: describe(err) };
    }
  });
}

/** UTF-8 byte order (what trees use), with each name encoded once. */
function sortByBytes(/** @type {string[]} */ names) {
  const keyed = names.map((name) => ({ name, key: Buffer.from(name, 'utf8') }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.name);
}

port.on('message', (/** @type {{ seq: number, list?: string, statFirst?: number, stat?: string, names?: string[] }} */ m) => {
  if (m.list !== undefined) {
    let names;
    try {
      names = sortByBytes(readdirSync(m.list));
    } catch (err) {
      port.postMessage({ seq: m.seq, names: [], stats: [], error: describe(err) });
      return;
    }
    port.postMessage({ seq: m.seq, names, stats: statAll(m.list, names.slice(0, m.statFirst ?? 0)) });
  } else {
    port.postMessage({ seq: m.seq, stats: statAll(m.stat ?? '/', m.names ?? []) });
  }
});

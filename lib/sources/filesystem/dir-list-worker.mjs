// Worker thread of the directory lister (dir-lister.ts): lists directories and lstat's their entries with
// synchronous calls, so the walking thread spends one message per directory instead of a promise round
// trip through libuv's pool per entry (~12 us of its time each, 0.2 s of a 16k-file re-backup), and never
// sees a BigInt. Plain JavaScript with no TypeScript imports (see chunk-worker.mjs for why).
// Protocol, one reply per message:
//   in:  { seq, list: dir, statFirst }  names of `dir` sorted by UTF-8 bytes, and the FileStat of the first
//        `statFirst` of them
//   out: { seq, names, stats, invalid }  or { seq, names: [], stats: [], invalid: [], error: { message,
//        code } } when the directory cannot be read. `invalid`: names that are not valid UTF-8 (Linux
//        allows any bytes; a tree holds Unicode strings, format §9.2), left out of `names` and shown with
//        their bad bytes as \xNN.
//   in:  { seq, stat: dir, names }  FileStat of each name in `dir`
//   out: { seq, stats }
// Each stat is a FileStat (lib/repo/tree/file-stat.mjs) or { error: { message, code } } for an entry that
// could not be lstat'ed (vanished, permission) or stored (size beyond 2^53).
import { lstatSync, readdirSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { onJobs } from '../../worker-jobs.mjs';
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

/**
 * The names of `dir` as raw bytes: the valid UTF-8 ones in byte order (what trees use), and the others
 * shown with their bad bytes escaped. Node would decode those with U+FFFD, a name that does not exist.
 * @param {string} dir
 */
function readNames(dir) {
  const valid = [];
  const invalid = [];
  for (const raw of readdirSync(dir, { encoding: 'buffer' })) {
    const name = raw.toString('utf8');
    if (Buffer.byteLength(name) === raw.length && Buffer.from(name).equals(raw)) valid.push({ name, raw });
    else invalid.push(shown(raw));
  }
  valid.sort((a, b) => Buffer.compare(a.raw, b.raw));
  return { names: valid.map((v) => v.name), invalid };
}

/** `raw` with every byte that is not part of valid UTF-8 written as \xNN. */
function shown(/** @type {Buffer} */ raw) {
  let out = '';
  for (let i = 0; i < raw.length; ) {
    let ok = 0;
    for (let n = 1; n <= 4 && i + n <= raw.length && !ok; n++) {
      const part = raw.subarray(i, i + n);
      const text = part.toString('utf8');
      if (Buffer.from(text).equals(part)) ok = n;
    }
    if (ok) {
      out += raw.subarray(i, i + ok).toString('utf8');
      i += ok;
    } else {
      out += `\\x${raw[i].toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return out;
}

onJobs(port, (/** @type {{ seq: number, list?: string, statFirst?: number, stat?: string, names?: string[] }} */ m) => {
  if (m.list !== undefined) {
    let listing;
    try {
      listing = readNames(m.list);
    } catch (err) {
      port.postMessage({ seq: m.seq, names: [], stats: [], invalid: [], error: describe(err) });
      return;
    }
    const { names, invalid } = listing;
    port.postMessage({ seq: m.seq, names, invalid, stats: statAll(m.list, names.slice(0, m.statFirst ?? 0)) });
  } else {
    port.postMessage({ seq: m.seq, stats: statAll(m.stat ?? '/', m.names ?? []) });
  }
});

// Deterministic benchmark corpus: many small source-like files, larger compressible files (JSON logs, pretty
// JSON exports, CSV tables) and incompressible random files, plus the "change 5% of the files" step and a
// content manifest (sha256 per file) to check restores against.
//
// Everything derives from (seed, size): the same arguments give byte-identical trees on any machine with the
// same node_modules (the source-like text is cut from node_modules' .js/.ts files, falling back to generated
// text). Small files are mutated (unique header, renamed identifiers) so none is a byte copy of another and
// file-level dedup cannot shortcut them; big files are generated line by line or as AES-CTR keystream.
import { createCipheriv, createHash } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const KiB = 1024;
const MiB = 1024 * KiB;

export type Kind = 'source' | 'compressible' | 'random';
export type CorpusFile = { rel: string; kind: Kind; size: number };
export type CorpusMix = Record<Kind, { files: number; bytes: number }> & { dirs: number; files: number; bytes: number };
export type Corpus = { dir: string; seed: number; files: CorpusFile[]; mix: CorpusMix };
export type Manifest = Map<string, { size: number; sha256: string }>;

/** Share of the target size per kind. */
export const MIX_SHARES: Record<Kind, number> = { source: 0.15, compressible: 0.45, random: 0.4 };

/** xorshift128+ in doubles: fast, deterministic, plenty for picking sizes and words. */
export function rng(seed: number): () => number {
  let s0 = (seed ^ 0x9e3779b9) >>> 0 || 1;
  let s1 = Math.imul(seed + 0x6d2b79f5, 0x85ebca6b) >>> 0 || 2;
  let s2 = 0x2545f491;
  let s3 = (seed * 2654435761) >>> 0 || 3;
  return () => {
    // xoshiro128** (32-bit lanes)
    const r = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3, 11);
    return r / 2 ** 32;
  };
}
const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k));

type Rand = () => number;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const hex = (r: Rand, n: number) => {
  let s = '';
  while (s.length < n) s += Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0');
  return s.slice(0, n);
};
/** Log-normal size around `median` (sigma in natural-log units), clamped. */
const logNormal = (r: Rand, median: number, sigma: number, lo: number, hi: number) => {
  const u = Math.max(r(), 1e-12);
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * r());
  return Math.round(Math.min(hi, Math.max(lo, median * Math.exp(sigma * z))));
};
const logUniform = (r: Rand, lo: number, hi: number) => Math.round(Math.exp(Math.log(lo) + r() * (Math.log(hi) - Math.log(lo))));

/** AES-256-CTR keystream: incompressible, deterministic, ~2 GB/s. */
export function keystream(seed: string): (n: number) => Buffer {
  const key = createHash('sha256').update(`lifeboat-bench-keystream:${seed}`).digest();
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  const zeros = Buffer.alloc(4 * MiB);
  return (n) => {
    const parts: Buffer[] = [];
    for (let left = n; left > 0; left -= zeros.length) parts.push(cipher.update(zeros.subarray(0, Math.min(left, zeros.length))));
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  };
}

// ---- source-like text ------------------------------------------------------------------------------------

/** ~`want` bytes of real JS/TS from node_modules, picked deterministically; generated text if there is none. */
function sourcePool(root: string, r: Rand, want: number): string[] {
  const nm = join(root, 'node_modules');
  const candidates: { path: string; size: number }[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (name === '.bin' || name === '.cache') continue;
      const p = join(dir, name);
      let st;
      try {
        st = statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < 12) walk(p, depth + 1);
      } else if (/\.(m?js|ts|tsx)$/.test(name) && !name.endsWith('.min.js') && st.size >= 2 * KiB && st.size <= 256 * KiB) {
        candidates.push({ path: p, size: st.size });
      }
    }
  };
  walk(nm, 0);
  const pool: string[] = [];
  let total = 0;
  for (let tries = 0; candidates.length && total < want && tries < candidates.length * 4; tries++) {
    const c = candidates[Math.floor(r() * candidates.length)]!;
    const text = readFileSync(c.path, 'utf8');
    if (!/\n/.test(text.slice(0, 4000))) continue; // minified one-liners are not "source-like"
    pool.push(text);
    total += text.length;
  }
  if (total >= want / 4) return pool;
  // Fallback: generated source-like text.
  const words = 'const let return if else for while function export import from class new this null await async type interface extends'.split(' ');
  const lines: string[] = [];
  for (let n = 0; n < want; ) {
    const line = `${'  '.repeat(int(r, 0, 4))}${pick(r, words)} ${pick(r, words)}${int(r, 0, 99)} = call${int(r, 0, 40)}(${int(r, 0, 9999)}, '${hex(r, 6)}');`;
    lines.push(line);
    n += line.length + 1;
  }
  return [lines.join('\n')];
}

const IDENT = /\b[A-Za-z_$][A-Za-z0-9_$]{3,}\b/g;

/** A mutated window of real source: unique header, a few identifiers renamed, a block of lines moved. */
function sourceFile(pool: string[], r: Rand, size: number, rel: string): Buffer {
  let text = '';
  while (text.length < size) {
    const src = pick(r, pool);
    let start = Math.floor(r() * Math.max(1, src.length - size));
    const nl = src.indexOf('\n', start);
    start = nl < 0 ? 0 : nl + 1;
    text += src.slice(start, start + (size - text.length));
  }
  const idents = text.match(IDENT) ?? [];
  for (let i = 0; i < 3 && idents.length; i++) {
    const from = pick(r, idents);
    text = text.split(from).join(`${from}${hex(r, 3)}`);
  }
  const lines = text.split('\n');
  if (lines.length > 20) {
    const a = int(r, 0, lines.length - 10);
    const moved = lines.splice(a, int(r, 2, 8));
    lines.splice(int(r, 0, lines.length), 0, ...moved);
  }
  return Buffer.from(`// ${rel} (bench ${hex(r, 16)})\n${lines.join('\n')}`).subarray(0, Math.max(size, 64));
}

// ---- compressible data -----------------------------------------------------------------------------------

const SERVICES = ['api', 'worker', 'web', 'billing', 'search', 'auth'] as const;
const LEVELS = ['info', 'info', 'info', 'info', 'warn', 'error', 'debug', 'debug'] as const;
const MSGS = ['request completed', 'cache miss', 'upstream timeout, retrying', 'user signed in', 'job finished', 'slow query', 'connection reset by peer', 'rate limited'] as const;
const PATHS = ['users', 'orders', 'items', 'invoices', 'sessions', 'reports'] as const;
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'] as const;
const STATUS = [200, 200, 200, 200, 201, 204, 304, 400, 404, 500] as const;

type LineGen = (r: Rand, i: number) => string;
const logLine: LineGen = (r, i) => {
  const time = Date.UTC(2025, 0, 15, 8) + i * 450 + int(r, 0, 449);
  return `{"time":"${new Date(time).toISOString()}","level":"${pick(r, LEVELS)}","service":"${pick(r, SERVICES)}","msg":"${pick(r, MSGS)}",` +
    `"requestId":"${hex(r, 16)}","method":"${pick(r, METHODS)}","path":"/api/v1/${pick(r, PATHS)}/${int(r, 1, 99999)}",` +
    `"status":${pick(r, STATUS)},"durationMs":${(r() * r() * 2000).toFixed(2)},"bytes":${int(r, 0, 50000)},"host":"ip-10-0-${int(r, 0, 7)}-${int(r, 1, 254)}"}`;
};
const jsonRecord: LineGen = (r, i) =>
  `  {\n    "id": ${i},\n    "sku": "SKU-${hex(r, 8).toUpperCase()}",\n    "name": "${pick(r, PATHS)} ${pick(r, MSGS)}",\n` +
  `    "price": ${(r() * 500).toFixed(2)},\n    "stock": ${int(r, 0, 5000)},\n    "warehouse": "wh-${int(r, 1, 12)}",\n` +
  `    "tags": ["${pick(r, SERVICES)}", "${pick(r, LEVELS)}"],\n    "updated": "${new Date(Date.UTC(2024, 0, 1) + int(r, 0, 3e10)).toISOString()}"\n  },`;
const csvRow: LineGen = (r, i) =>
  `${i},${new Date(Date.UTC(2024, 0, 1) + i * 60000).toISOString()},${pick(r, SERVICES)},${(r() * 100).toFixed(3)},${(r() * 1e4).toFixed(1)},${int(r, 0, 1e6)},${pick(r, STATUS)},${hex(r, 8)}`;

const TEXT_KINDS = [
  { dir: 'logs', ext: 'log', head: '', line: logLine },
  { dir: 'exports', ext: 'json', head: '[\n', line: jsonRecord },
  { dir: 'tables', ext: 'csv', head: 'row,time,service,load,latency_us,requests,status,trace\n', line: csvRow },
] as const;

/** Writes `size` bytes of generated lines to fd, from `start` (in place) or appended. */
function writeLines(fd: number, size: number, gen: LineGen, r: Rand, head: string, position?: number): void {
  let buf: string[] = head ? [head] : [];
  let pending = head.length;
  let written = 0;
  let i = int(r, 0, 1e6);
  const flush = (last: boolean) => {
    let b = Buffer.from(buf.join(''));
    if (last || written + b.length > size) b = b.subarray(0, size - written);
    writeSync(fd, b, 0, b.length, position === undefined ? null : position + written);
    written += b.length;
    buf = [];
    pending = 0;
  };
  while (written + pending < size) {
    const line = gen(r, i++) + '\n';
    buf.push(line);
    pending += line.length;
    if (pending >= 4 * MiB) flush(false);
  }
  flush(true);
}

// ---- the corpus ------------------------------------------------------------------------------------------

/**
 * Generates the corpus for `size` bytes into `dir` (created). `repoRoot` is where node_modules lives.
 * Returns the file list and the mix. Deterministic in (seed, size).
 */
export function generateCorpus(dir: string, opts: { size: number; seed: number; repoRoot: string }): Corpus {
  const { size, seed } = opts;
  const r = rng(seed);
  const files: CorpusFile[] = [];
  const dirs = new Set<string>();
  const put = (rel: string, kind: Kind, data: Buffer) => {
    const p = join(dir, rel);
    if (!dirs.has(dirname(p))) {
      mkdirSync(dirname(p), { recursive: true });
      dirs.add(dirname(p));
    }
    writeFileSync(p, data);
    files.push({ rel, kind, size: data.length });
  };
  mkdirSync(dir, { recursive: true });

  // 1. small source-like files, ~30 per directory, directories grouped ~16 per package
  const pool = sourcePool(opts.repoRoot, rng(seed + 1), 24 * MiB);
  const sourceBudget = Math.round(size * MIX_SHARES.source);
  const exts = ['ts', 'ts', 'js', 'tsx', 'mjs', 'json', 'md'];
  for (let used = 0, n = 0; used < sourceBudget; n++) {
    const d = Math.floor(n / 30);
    const rel = `src/pkg-${String(Math.floor(d / 16)).padStart(3, '0')}/mod-${String(d % 16).padStart(2, '0')}/file-${String(n).padStart(6, '0')}.${pick(r, exts)}`;
    const s = Math.min(logNormal(r, 6 * KiB, 1.0, 120, 256 * KiB), Math.max(120, sourceBudget - used));
    put(rel, 'source', sourceFile(pool, r, s, rel));
    used += s;
  }

  // 2. compressible files, 1-64 MiB (scaled down for small corpora)
  const textBudget = Math.round(size * MIX_SHARES.compressible);
  const maxText = Math.max(2 * MiB, Math.min(64 * MiB, textBudget / 6));
  for (let used = 0, n = 0; used < textBudget; n++) {
    const k = TEXT_KINDS[n % TEXT_KINDS.length]!;
    const s = Math.min(logUniform(r, Math.min(MiB, maxText / 4), maxText), textBudget - used);
    if (s < 64 * KiB && used > 0) break;
    const rel = `data/${k.dir}/${k.dir}-${String(n).padStart(4, '0')}.${k.ext}`;
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    dirs.add(dirname(p));
    const fd = openSync(p, 'w');
    try {
      writeLines(fd, s, k.line, rng(seed * 31 + n), k.head);
    } finally {
      closeSync(fd);
    }
    files.push({ rel, kind: 'compressible', size: s });
    used += s;
  }

  // 3. incompressible files, 256 KiB - 96 MiB (scaled down for small corpora)
  const randomBudget = size - sourceBudget - textBudget;
  const maxRandom = Math.max(2 * MiB, Math.min(96 * MiB, randomBudget / 5));
  const ext = ['bin', 'jpg', 'zst', 'mp4', 'gpg'];
  for (let used = 0, n = 0; used < randomBudget; n++) {
    const s = Math.min(logUniform(r, 256 * KiB, maxRandom), randomBudget - used);
    if (s < 4 * KiB) break;
    const rel = `media/${n % 2 ? 'video' : 'photos'}/blob-${String(n).padStart(4, '0')}.${pick(r, ext)}`;
    const p = join(dir, rel);
    mkdirSync(dirname(p), { recursive: true });
    dirs.add(dirname(p));
    const ks = keystream(`${seed}:${rel}`);
    const fd = openSync(p, 'w');
    try {
      for (let left = s; left > 0; left -= 4 * MiB) {
        const b = ks(Math.min(left, 4 * MiB));
        writeSync(fd, b);
      }
    } finally {
      closeSync(fd);
    }
    files.push({ rel, kind: 'random', size: s });
    used += s;
  }
  return { dir, seed, files, mix: mixOf(files, dirs.size) };
}

export function mixOf(files: CorpusFile[], dirs: number): CorpusMix {
  const m = { source: { files: 0, bytes: 0 }, compressible: { files: 0, bytes: 0 }, random: { files: 0, bytes: 0 } };
  for (const f of files) {
    m[f.kind].files++;
    m[f.kind].bytes += f.size;
  }
  return { ...m, dirs, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0) };
}

export type ChangeSummary = { files: number; bytesInFiles: number; bytesRewritten: number; bytesAppended: number };

/**
 * Changes `fraction` of the files of each kind (deterministic): source files get a block of lines
 * replaced (size may change), compressible files 3 regions of 16 KiB rewritten in place and logs 256 KiB
 * appended, random files 3 regions of 64 KiB overwritten in place. Updates the sizes in corpus.files.
 */
export function changeFiles(corpus: Corpus, fraction: number, repoRoot: string): ChangeSummary {
  const r = rng(corpus.seed + 7);
  const pool = sourcePool(repoRoot, rng(corpus.seed + 8), 4 * MiB);
  const summary: ChangeSummary = { files: 0, bytesInFiles: 0, bytesRewritten: 0, bytesAppended: 0 };
  for (const kind of ['source', 'compressible', 'random'] as const) {
    const ofKind = corpus.files.filter((f) => f.kind === kind);
    const want = Math.max(1, Math.round(ofKind.length * fraction));
    const chosen = new Set<number>();
    while (chosen.size < Math.min(want, ofKind.length)) chosen.add(Math.floor(r() * ofKind.length));
    for (const i of [...chosen].sort((a, b) => a - b)) {
      const f = ofKind[i]!;
      const p = join(corpus.dir, f.rel);
      summary.files++;
      summary.bytesInFiles += f.size;
      if (kind === 'source') {
        const lines = readFileSync(p, 'utf8').split('\n');
        const at = int(r, 1, Math.max(1, lines.length - 1));
        const count = Math.max(1, Math.round(lines.length * 0.2));
        const fresh = sourceFile(pool, r, Math.max(200, count * 40), f.rel).toString('utf8').split('\n').slice(1);
        lines.splice(at, count, ...fresh);
        const data = Buffer.from(lines.join('\n'));
        writeFileSync(p, data);
        summary.bytesRewritten += fresh.join('\n').length;
        f.size = data.length;
        continue;
      }
      const fd = openSync(p, 'r+');
      try {
        const region = kind === 'random' ? 64 * KiB : 16 * KiB;
        const ks = keystream(`change:${corpus.seed}:${f.rel}`);
        const k = TEXT_KINDS.find((t) => f.rel.startsWith(`data/${t.dir}/`));
        for (let j = 0; j < 3; j++) {
          const len = Math.min(region, f.size);
          const at = int(r, 0, f.size - len);
          if (kind === 'random') writeSync(fd, ks(len), 0, len, at);
          else writeLines(fd, len, k!.line, r, '', at);
          summary.bytesRewritten += len;
        }
        if (k?.dir === 'logs') {
          const size = fstatSync(fd).size;
          writeLines(fd, 256 * KiB, k.line, r, '', size);
          summary.bytesAppended += 256 * KiB;
          f.size = size + 256 * KiB;
        }
      } finally {
        closeSync(fd);
      }
    }
  }
  return summary;
}

/** sha256 and size of every regular file under `dir`, keyed by '/'-separated relative path. */
export async function manifest(dir: string): Promise<Manifest> {
  const out: Manifest = new Map();
  const paths: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) paths.push(p);
    }
  };
  walk(dir);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const p = paths[next++]!;
      const h = createHash('sha256');
      let size = 0;
      for await (const chunk of createReadStream(p, { highWaterMark: MiB }) as AsyncIterable<Buffer>) {
        h.update(chunk);
        size += chunk.length;
      }
      out.set(relative(dir, p), { size, sha256: h.digest('hex') });
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  return out;
}

/** Differences between an expected and an actual manifest (empty when they match). */
export function compareManifests(expected: Manifest, actual: Manifest): string[] {
  const problems: string[] = [];
  for (const [rel, e] of expected) {
    const a = actual.get(rel);
    if (!a) problems.push(`missing ${rel}`);
    else if (a.sha256 !== e.sha256) problems.push(`content differs: ${rel} (${a.size} vs ${e.size} bytes)`);
  }
  for (const rel of actual.keys()) if (!expected.has(rel)) problems.push(`unexpected ${rel}`);
  return problems;
}

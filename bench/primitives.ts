// Raw single-core ceilings of the primitives a backup runs through: hashing, content ids, sealing,
// compression candidates and the FastCDC chunker. Run: `npx tsx bench/primitives.ts` (~30-60 s, one core,
// no network, no files written). Not a test: it prints one line per primitive, MB/s = 10^6 bytes of *input*
// (uncompressed) per CPU-second of this one-threaded process, the mean over repeated passes after a warm-up.
//
// Corpus (24 MiB, compressed in 1 MiB pieces because the repository compresses each ~1 MiB chunk on its
// own): 8 MiB of real source text (node_modules/typescript/lib/typescript.js, or generated source-like text
// if absent), 8 MiB of generated JSON log lines, 8 MiB of AES-CTR keystream standing in for incompressible
// data (media, already-compressed archives, encrypted dumps). Ratios are raw/stored with the repository's
// rule (§2.3): a piece is stored raw when compression does not make it smaller.
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { brotliCompressSync, brotliDecompressSync, constants as zc, gunzipSync, gzipSync } from 'node:zlib';
import { compress as zstdCompress, decompress as zstdDecompress } from 'zstd-napi';
import { chunkBuffer, Chunker, deriveGearTable, DEFAULT_CHUNKER_PARAMS, type ChunkerParams } from '../lib/repo/chunker';
import { open, seal } from '../lib/repo/crypto/sealed-box';

const MiB = 1024 * 1024;
const PIECE = MiB;
const BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 700);

type Kind = 'source' | 'logs' | 'random';
type Piece = { kind: Kind; data: Buffer };

function keystream(length: number, seed: number): Buffer {
  const cipher = createCipheriv('aes-256-ctr', Buffer.alloc(32, seed), Buffer.alloc(16));
  return cipher.update(Buffer.alloc(length));
}

/** Deterministic xorshift32, for generated text. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

function sourceText(length: number): Buffer {
  const ts = 'node_modules/typescript/lib/typescript.js';
  if (existsSync(ts)) {
    const text = readFileSync(ts);
    if (text.length >= length) return text.subarray(0, length);
  }
  const r = rng(7);
  const words = 'const let return if else for while function export import from class new this null await async type interface'.split(' ');
  let s = '';
  while (s.length < length) s += `${'  '.repeat(Math.floor(r() * 4))}${words[Math.floor(r() * words.length)]} v${Math.floor(r() * 50)} = f(${Math.floor(r() * 1000)});\n`;
  return Buffer.from(s).subarray(0, length);
}

function logLines(length: number): Buffer {
  const r = rng(42);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const msgs = ['request completed', 'cache miss', 'upstream timeout, retrying', 'user signed in', 'job finished', 'slow query'] as const;
  const lines: string[] = [];
  let t = Date.UTC(2025, 0, 15, 8);
  for (let size = 0; size < length; ) {
    t += Math.floor(r() * 900);
    const line = JSON.stringify({
      time: new Date(t).toISOString(), level: pick(['info', 'info', 'info', 'warn', 'error', 'debug']),
      service: pick(['api', 'worker', 'web', 'billing']), msg: pick(msgs),
      requestId: Math.floor(r() * 2 ** 52).toString(16), method: pick(['GET', 'POST', 'PUT', 'DELETE']),
      path: `/api/v1/${pick(['users', 'orders', 'items', 'invoices'])}/${Math.floor(r() * 100000)}`,
      status: pick([200, 200, 200, 201, 204, 304, 400, 404, 500]), durationMs: Math.round(r() * r() * 2000 * 100) / 100,
      bytes: Math.floor(r() * 50000), host: `ip-10-0-${Math.floor(r() * 8)}-${Math.floor(r() * 255)}`,
    });
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n').subarray(0, length);
}

function corpus(): Piece[] {
  const parts: [Kind, Buffer][] = [['source', sourceText(8 * MiB)], ['logs', logLines(8 * MiB)], ['random', keystream(8 * MiB, 3)]];
  const pieces: Piece[] = [];
  for (const [kind, data] of parts) for (let o = 0; o < data.length; o += PIECE) pieces.push({ kind, data: data.subarray(o, o + PIECE) });
  return pieces;
}

/**
 * Runs `pass` (returns input bytes processed) once to warm up, then until the budget is spent; MB/s per
 * CPU-second of this process (user + system), so other work on a shared machine does not count against it.
 */
function rate(pass: () => number): number {
  pass();
  let bytes = 0;
  const start = process.cpuUsage();
  let cpuMicros = 0;
  do {
    bytes += pass();
    const used = process.cpuUsage(start);
    cpuMicros = used.user + used.system;
  } while (cpuMicros < BUDGET_MS * 1000);
  return bytes / cpuMicros;
}

const fmt = (mbps: number) => `${mbps.toFixed(0).padStart(6)} MB/s`;
const row = (name: string, text: string) => console.log(`${name.padEnd(38)} ${text}`);

function benchCrypto(pieces: Piece[]): void {
  const data = pieces.map((p) => p.data);
  const total = data.reduce((n, d) => n + d.length, 0);
  const key = randomBytes(32);
  const aad = randomBytes(32);
  row('sha256 (1 MiB pieces)', fmt(rate(() => (data.forEach((d) => createHash('sha256').update(d).digest()), total))));
  row('hmac-sha256 content id (1 MiB)', fmt(rate(() => (data.forEach((d) => createHmac('sha256', key).update(d).digest()), total))));
  row('aes-256-gcm seal (1 MiB blobs)', fmt(rate(() => (data.forEach((d) => seal(key, d, aad)), total))));
  const boxes = data.map((d) => seal(key, d, aad));
  row('aes-256-gcm open (1 MiB blobs)', fmt(rate(() => (boxes.forEach((b) => open(key, b, aad, 'bench')), total))));
}

type Codec = { name: string; compress: (d: Buffer) => Buffer; decompress: (d: Buffer) => Buffer };

const brotli = (q: number): Codec => ({
  name: `brotli q${q}`,
  compress: (d) => brotliCompressSync(d, { params: { [zc.BROTLI_PARAM_QUALITY]: q, [zc.BROTLI_PARAM_SIZE_HINT]: d.length } }),
  decompress: (d) => brotliDecompressSync(d),
});
const codecs: Codec[] = [
  ...[1, 3, 6].map((level) => ({
    name: `zstd ${level}`,
    compress: (d: Buffer) => zstdCompress(d, { compressionLevel: level }),
    decompress: (d: Buffer) => zstdDecompress(d),
  })),
  brotli(1),
  brotli(4),
  ...[1, 6].map((level) => ({ name: `gzip ${level}`, compress: (d: Buffer) => gzipSync(d, { level }), decompress: (d: Buffer) => gunzipSync(d) })),
];

function benchCodec(codec: Codec, pieces: Piece[]): void {
  const total = pieces.reduce((n, p) => n + p.data.length, 0);
  const packed = pieces.map((p) => codec.compress(p.data));
  const stored = { source: [0, 0], logs: [0, 0], random: [0, 0], all: [0, 0] };
  pieces.forEach((p, i) => {
    const size = Math.min(packed[i]!.length, p.data.length);
    for (const k of [p.kind, 'all'] as const) {
      stored[k][0]! += p.data.length;
      stored[k][1]! += size;
    }
  });
  const ratio = (k: keyof typeof stored) => `${(stored[k][0]! / stored[k][1]!).toFixed(2)}x`.padStart(6);
  const c = rate(() => (pieces.forEach((p) => codec.compress(p.data)), total));
  const d = rate(() => (packed.forEach((b) => codec.decompress(b)), total));
  row(codec.name, `comp ${fmt(c)}  decomp ${fmt(d)}  ratio all ${ratio('all')}  source ${ratio('source')}  logs ${ratio('logs')}  random ${ratio('random')}`);
}

function benchChunker(pieces: Piece[]): void {
  const gear = deriveGearTable(randomBytes(32));
  const feed = (data: Buffer[], params: ChunkerParams) => () => {
    const chunker = new Chunker(gear, params);
    let n = 0;
    for (const d of data) for (const c of chunker.push(d)) n += c.length;
    return n + (chunker.finish()?.length ?? 0);
  };
  const random = keystream(64 * MiB, 9);
  const randomPieces = Array.from({ length: 64 * 16 }, (_, i) => random.subarray(i * 65536, (i + 1) * 65536));
  const mixed = pieces.map((p) => p.data);
  const defaults = DEFAULT_CHUNKER_PARAMS;
  const mean = (64 * MiB) / chunkBuffer(random, gear).length / MiB;
  row('fastcdc 512K/1M/8M random, 64K feed', `${fmt(rate(feed(randomPieces, defaults)))}  (mean chunk ${mean.toFixed(2)} MiB)`);
  row('fastcdc 512K/1M/8M mixed corpus', fmt(rate(feed(mixed, defaults))));
  // minSize 64 B: (almost) every byte goes through the hash loop, the inner loop's own ceiling.
  row('fastcdc 64/1M/8M (hashes every byte)', fmt(rate(feed(randomPieces, { minSize: 64, avgSize: MiB, maxSize: 8 * MiB }))));
}

function benchPipeline(pieces: Piece[]): void {
  const gear = deriveGearTable(randomBytes(32));
  const key = randomBytes(32);
  const data = pieces.map((p) => p.data);
  const total = data.reduce((n, d) => n + d.length, 0);
  const pipeline = () => {
    const chunker = new Chunker(gear);
    const store = (c: Buffer) => {
      const id = createHmac('sha256', key).update(c).digest();
      const z = zstdCompress(c, { compressionLevel: 3 });
      seal(key, z.length < c.length ? z : c, id);
    };
    for (const d of data) chunker.push(d).forEach(store);
    const last = chunker.finish();
    if (last) store(last);
    return total;
  };
  row('pipeline chunk+id+zstd3+seal, mixed', fmt(rate(pipeline)));
}

function main(): void {
  const started = performance.now();
  console.log(`# primitives: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores; single-threaded`);
  const pieces = corpus();
  benchCrypto(pieces);
  for (const codec of codecs) benchCodec(codec, pieces);
  benchChunker(pieces);
  benchPipeline(pieces);
  console.log(`# done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

main();

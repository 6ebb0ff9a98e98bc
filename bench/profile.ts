// Summarises a V8 .cpuprofile (node --cpu-prof) of a Lifeboat run: where the main thread's time went, by
// pipeline stage and by function. Each sample is attributed to the innermost frame that belongs to a known
// stage (so OpenSSL's HMAC called from contentId counts as "content id", a sha256 called from the S3 SDK's
// signer as "S3 client"). "(idle)" is the event loop waiting: for file reads, uploads, or libuv threads.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type CpuProfile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

export type ProfileSummary = {
  file: string;
  totalS: number;
  stages: { stage: string; s: number; pct: number }[];
  topSelf: { fn: string; s: number; pct: number }[];
};

const STAGES: [string, (f: CallFrame) => boolean][] = [
  ['FastCDC chunker (JS loop)', (f) => f.url.includes('lib/repo/chunker')],
  ['zstd compress (native, sync)', (f) => f.url.includes('lib/repo/compress') || f.url.includes('zstd-napi')],
  ['AES-256-GCM seal', (f) => f.url.includes('crypto/sealed-box')],
  ['HMAC-SHA256 content id', (f) => f.url.includes('crypto/master-key')],
  ['pack assembly (copy + sha256)', (f) => f.url.includes('lib/repo/pack/')],
  ['index / content store', (f) => f.url.includes('lib/repo/index') || f.url.includes('lib/repo/content')],
  ['tree encode / stat nodes', (f) => f.url.includes('lib/repo/tree')],
  ['S3 client (AWS SDK: signing, HTTP)', (f) => /@aws-sdk|@smithy|@aws-crypto/.test(f.url)],
  ['restorer', (f) => f.url.includes('lib/sources/filesystem/restorer')],
  ['archiver (walk, stat, read loop)', (f) => f.url.includes('lib/sources/filesystem')],
  ['file I/O (node:fs, streams)', (f) => /^node:internal\/(fs|streams)|^node:fs/.test(f.url)],
  ['HTTP / sockets (node:http, net)', (f) => /^node:(internal\/)?(http|_http|net|stream_base)/.test(f.url)],
  ['module loading (tsx, esbuild, require)', (f) => /node_modules\/(tsx|esbuild|get-tsconfig)|^node:internal\/modules/.test(f.url)],
];

function stageOf(nodeId: number, byId: Map<number, ProfileNode>, parent: Map<number, number>): string {
  const leaf = byId.get(nodeId)!.callFrame.functionName;
  if (leaf === '(idle)') return '(idle: event loop waiting)';
  if (leaf === '(garbage collector)') return '(garbage collector)';
  if (leaf === '(program)') return '(program: V8/native, unattributed)';
  for (let id: number | undefined = nodeId; id !== undefined; id = parent.get(id)) {
    const f = byId.get(id)!.callFrame;
    for (const [stage, match] of STAGES) if (match(f)) return stage;
  }
  return 'other JS';
}

export function summarizeProfile(dir: string, top = 15): ProfileSummary | null {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (!files.length) return null;
  // the biggest profile is the CLI's own process
  const file = files.map((f) => join(dir, f)).sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0]!;
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const stage = new Map<string, number>();
  const self = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const us = p.timeDeltas[i + 1] ?? 0;
    const id = p.samples[i]!;
    total += us;
    const s = stageOf(id, byId, parent);
    stage.set(s, (stage.get(s) ?? 0) + us);
    const f = byId.get(id)!.callFrame;
    const url = f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(lib|bin)\//, '$1/');
    const key = `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, us]) => ({ k, s: us / 1e6, pct: (100 * us) / total }));
  return {
    file: basename(file),
    totalS: total / 1e6,
    stages: rows(stage).map(({ k, s, pct }) => ({ stage: k, s, pct })),
    topSelf: rows(self).slice(0, top).map(({ k, s, pct }) => ({ fn: k, s, pct })),
  };
}

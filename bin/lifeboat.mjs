#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=1048576 GLIBC_TUNABLES=glibc.malloc.hugetlb=1 UV_THREADPOOL_SIZE=8 node --max-semi-space-size=4
// The `lifeboat` command (package.json "bin"). Runs from a checkout with no build step (`npx lifeboat ...`):
// it runs a cached esbuild bundle of the TypeScript CLI (bin/cli-bundle.mjs, rebuilt when sources change)
// and falls back to transpiling through tsx when the bundle cannot be built (read-only checkout, no esbuild)
// or when LIFEBOAT_CLI_BUNDLE=0.
// Node flags (the first line; the runbook scripts and the benchmarks run this file, not `node` on it, so
// they apply everywhere): V8's young generation capped at 4 MiB per semi-space instead of 16. The 1 GiB
// bench restore peaked at ~310 MB instead of ~360, the first backup at ~230 instead of ~260, at the same
// speed: the main thread allocates little that lives long, and V8 grows the nursery by throughput.
// glibc's malloc: every thread gets an arena of its own that keeps freed memory, and buffers of several
// MiB stop being mmap'ed once one was freed (the threshold moves up). With the chunk, seal and restore
// threads passing chunk-sized buffers around, the 1 GiB first backup peaked at 300-355 MB; with two arenas
// and buffers of 1 MiB or more always mmap'ed (given back when freed) at 255-262 MB, ~5% slower.
// Each of those fresh mappings page-faults in at 4 KiB a fault (~10 us each on these VMs: a 927 MiB base
// backup took 150k faults, 2.7 s of system time); glibc.malloc.hugetlb=1 madvises them for transparent huge
// pages (THP in "madvise" mode here; ignored where THP is off or glibc is older than 2.35): 55-65k faults,
// the base backup 7.8 -> 6.9 s and its restore 3.7 -> 3.0 s at the same peak RSS.
// libuv's pool: 8 threads instead of 4, for the base backup extractor's writes and syncs, which wait on the
// disk more than they use a core (A/B on a 927 MiB restore: 2.6 -> 2.25 s). Set here: the pool is sized
// when first used, which can be while node loads this file's imports.
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The AWS SDK's notice about future Node versions is not the operator's problem at 3 a.m.; keep stderr to
// what went wrong.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function loadMain() {
  if (process.env.LIFEBOAT_CLI_BUNDLE !== '0') {
    try {
      const { ensureCliBundle } = await import('./cli-bundle.mjs');
      const bundle = await ensureCliBundle(resolve(dirname(fileURLToPath(import.meta.url)), '..'));
      return (await import(pathToFileURL(bundle).href)).main;
    } catch (err) {
      if (process.env.LIFEBOAT_DEBUG) process.stderr.write(`lifeboat: no CLI bundle (${err.message}); using tsx\n`);
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return (await import('./cli/main.ts')).main;
}

// `lifeboat snapshots | head`: a closed pipe ends the output, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// restore_command runs once per WAL file: serve prefetched files before loading anything else.
const walFetch = process.argv[2] === 'wal-fetch' || (process.argv[2] === '--env-file' && process.argv[4] === 'wal-fetch');
const served = walFetch ? (await import('./wal-fetch-fast.mjs')).fastWalFetch(process.argv) : null;
if (served !== null) process.exit(served);

const main = await loadMain();
process.exitCode = await main(process.argv);

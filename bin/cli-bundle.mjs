// Builds the TypeScript CLI into one ES module with esbuild and caches it, so a command does not pay
// tsx's on-the-fly transpiling of ~170 modules (~0.6 s per command, which showed in every cron run and
// in the benchmarks). The bundle is rebuilt whenever a source file changes (fingerprint of the paths,
// sizes and mtimes under bin/, lib/ and worker/) and kept under node_modules/.cache, owned by whoever
// owns the checkout (never a shared temp directory: root runs this file). npm packages stay external and
// load from node_modules as usual. `import.meta.url` keeps pointing at each original source file, so
// code that finds files next to itself (worker scripts, the Prisma client) works the same in the bundle.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const SOURCE_DIRS = ['bin', 'lib', 'worker'];

function fingerprint(root) {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs|js|json)$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
        const st = statSync(path);
        hash.update(`${path}\0${st.size}\0${st.mtimeMs}\n`);
      }
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  hash.update(readFileSync(join(root, 'package.json')));
  return hash.digest('hex').slice(0, 16);
}

/** Packages left to node's loader: native addons (zstd-napi, @node-rs/crc32; pg's optional pg-native), the catalog command's stack. */
const BUNDLE_EXTERNAL = ['zstd-napi', '@node-rs/crc32', 'pg', 'pg-native', 'mysql2', '@prisma/*', 'prisma', 'esbuild', 'tsx', 'pino', 'pino-*', 'thread-stream', 'bullmq', 'ioredis', 'next', 'server-only'];

/** esbuild plugin: replaces import.meta.url in project sources with the source file's own URL. */
const keepImportMetaUrl = (root) => ({
  name: 'keep-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.(ts|mts|mjs)$/ }, (args) => {
      if (!args.path.startsWith(root) || args.path.includes('/node_modules/')) return undefined;
      const text = readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents: text, loader: args.path.endsWith('.mjs') ? 'js' : 'ts' };
    });
  },
});

/**
 * esbuild plugin: zod's message locales, English only. zod's namespace re-exports all ~50 of its locales
 * (z.locales), which the bundle cannot leave out on its own: 370 KB of the 1.4 MB every command compiles
 * at start. Lifeboat uses English messages (zod's default) and never z.locales.
 */
const zodEnglishOnly = () => ({
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/]/.test(args.importer) ? { path: join(args.resolveDir, '..', 'locales', 'en.js'), namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
});

/**
 * Path of the entry module of an up-to-date bundle of bin/cli/main.ts, building it first when needed. The
 * bundle is a directory: code splitting puts what main.ts imports lazily (the catalog command and the
 * Prisma client it needs) in chunks of their own, so npm packages only those import are not loaded by
 * every command (esbuild hoists every package import of a single-file bundle to its top).
 */
export async function ensureCliBundle(root) {
  const dir = join(root, 'node_modules', '.cache', 'lifeboat-cli');
  // Checkouts sharing one node_modules (a symlink, a worktree) keep their own bundles.
  const checkout = createHash('sha256').update(root).digest('hex').slice(0, 8);
  const name = `main-${checkout}-${fingerprint(root)}`;
  const out = join(dir, name);
  const entry = join(out, 'main.mjs');
  try {
    statSync(entry);
    return entry;
  } catch {
    // not built for these sources yet
  }
  const { build } = await import('esbuild');
  mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${randomBytes(4).toString('hex')}.tmp`;
  await build({
    entryPoints: [join(root, 'bin/cli/main.ts')],
    outdir: tmp,
    outExtension: { '.js': '.mjs' },
    splitting: true,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Pure-JS packages (the AWS SDK, zod, commander, picomatch) go into the bundle: node resolving, reading
    // package.json and lexing hundreds of small CommonJS modules on every start cost more than compiling
    // them. Native addons, packages with optional native parts and the catalog's stack stay external.
    external: BUNDLE_EXTERNAL,
    // ES module builds first (the AWS SDK ships both, as AWS advises for bundling): the CommonJS builds'
    // interop (esbuild's __toESM copying every export) cost ~50 ms of each command's start, and the bundle
    // shrinks from 3.2 to 2.7 MB.
    mainFields: ['module', 'main'],
    // Bundled CommonJS code calls require() for node builtins; ESM output has no require of its own.
    banner: { js: "import { createRequire as __lifeboatCreateRequire } from 'node:module'; const require = __lifeboatCreateRequire(import.meta.url);" },
    plugins: [keepImportMetaUrl(root), zodEnglishOnly()],
    logLevel: 'silent',
  });
  try {
    renameSync(tmp, out);
  } catch (err) {
    // Another process built the same bundle meanwhile: use theirs.
    rmSync(tmp, { recursive: true, force: true });
    if (!['ENOTEMPTY', 'EEXIST'].includes(err.code)) throw err;
  }
  // Older bundles of this checkout go once nothing can still be running from them: a running command
  // loads its lazy chunks as it goes (a detached wal-prefetch runs for a while), so give it an hour.
  for (const old of readdirSync(dir)) {
    const ours = old !== name && (old.startsWith(`main-${checkout}-`) || /^main-[0-9a-f]{16}\.mjs$/.test(old));
    if (ours && Date.now() - statSync(join(dir, old)).mtimeMs > 3600_000) rmSync(join(dir, old), { recursive: true, force: true });
  }
  return entry;
}

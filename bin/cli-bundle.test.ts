// The CLI bundle (cli-bundle.mjs) loads at every command's start: what it compiles then is what the
// command waits for. Checked on the built bundle: the AWS SDK's S3 client is only behind a dynamic import
// (loaded for S3 repositories), and zod's message locales other than English are not in it at all.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { ensureCliBundle } from './cli-bundle.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The bundle's files reachable from main.mjs through static imports, and those only reachable through import(). */
function reachable(entry: string): { statically: Set<string>; all: Set<string> } {
  const dir = dirname(entry);
  const walk = (start: string, withDynamic: boolean) => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = readFileSync(join(dir, file), 'utf8');
      const pattern = withDynamic ? /(?:from\s*|import\s*\(?\s*)"\.\/([^"]+)"/g : /^import\s[^;]*?from\s*"\.\/([^"]+)"|^import\s*"\.\/([^"]+)"/gm;
      for (const m of text.matchAll(pattern)) visit(m[1] ?? m[2]!);
    };
    visit(start);
    return seen;
  };
  return { statically: walk('main.mjs', false), all: walk('main.mjs', true) };
}

/** Which bundle files hold modules of `pkg` (esbuild marks each module with a "// node_modules/..." line). */
function holding(entry: string, files: Set<string>, marker: string): string[] {
  return [...files].filter((f) => readFileSync(join(dirname(entry), f), 'utf8').includes(`// ${marker}`));
}

it('loads the S3 client only on demand and carries zod with English messages only', async () => {
  const entry = await ensureCliBundle(root);
  const { statically, all } = reachable(entry);
  expect(statically.size).toBeGreaterThan(3);
  expect(holding(entry, statically, 'node_modules/@aws-sdk/client-s3/')).toEqual([]);
  expect(holding(entry, all, 'node_modules/@aws-sdk/client-s3/').length).toBeGreaterThan(0); // still bundled, behind import()
  expect(holding(entry, statically, 'node_modules/zod/v4/core/schemas.js').length).toBe(1);
  expect(holding(entry, all, 'node_modules/zod/v4/locales/en.js').length).toBe(1);
  expect(holding(entry, all, 'node_modules/zod/v4/locales/de.js')).toEqual([]);
});

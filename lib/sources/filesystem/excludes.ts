// Exclude patterns for filesystem and config sources: gitignore-like globs matched against absolute paths.
// A pattern without a slash matches a name at any depth ("*.tmp", "node_modules"); a pattern with a slash
// is anchored to the filesystem root ("/var/www/cache/**"). Invalid patterns fail early, named.
import picomatch from 'picomatch';

export type ExcludeMatcher = (absolutePath: string) => boolean;

export function excludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const matchers = patterns.map((pattern) => {
    if (!pattern.trim()) throw new Error('exclude pattern is empty');
    try {
      const anchored = pattern.includes('/');
      const glob = anchored ? pattern : `**/${pattern}`;
      return picomatch(glob, { dot: true });
    } catch (err) {
      throw new Error(`exclude pattern "${pattern}" is invalid: ${(err as Error).message}`);
    }
  });
  return (p) => matchers.some((m) => m(p));
}

/** Include globs for config sources: absolute patterns ("/etc/nginx/**", "/etc/*.conf"). */
export function includeMatcher(patterns: readonly string[]): ExcludeMatcher {
  for (const p of patterns) if (!p.startsWith('/')) throw new Error(`include pattern "${p}" must be an absolute path or glob`);
  return excludeMatcher(patterns);
}

export { globRoot } from './glob-root';

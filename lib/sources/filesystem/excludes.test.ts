import { describe, expect, it } from 'vitest';
import { excludeMatcher, globRoot, includeMatcher } from './excludes';

describe('exclude and include globs', () => {
  it('matches bare names at any depth and slash patterns from the root', () => {
    const m = excludeMatcher(['*.tmp', 'node_modules', '/var/www/cache/**']);
    expect(m('/var/www/a.tmp')).toBe(true);
    expect(m('/x/node_modules')).toBe(true);
    expect(m('/var/www/cache/img/1.png')).toBe(true);
    expect(m('/var/www/index.html')).toBe(false);
  });

  it('finds where a glob starts', () => {
    expect(globRoot('/etc/nginx/**')).toBe('/etc/nginx');
    expect(globRoot('/etc/*.conf')).toBe('/etc');
    expect(globRoot('/etc/hosts')).toBe('/etc/hosts');
    expect(globRoot('/*')).toBe('/');
  });

  it('rejects bad patterns by name', () => {
    expect(() => excludeMatcher([' '])).toThrow('exclude pattern is empty');
    expect(() => includeMatcher(['etc/**'])).toThrow('include pattern "etc/**" must be an absolute path or glob');
    expect(includeMatcher(['/etc/*.conf'])('/etc/a.conf')).toBe(true);
  });
});

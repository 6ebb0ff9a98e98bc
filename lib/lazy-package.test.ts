import { describe, expect, it } from 'vitest';
import { commonJsExports } from './lazy-package';

describe('commonJsExports', () => {
  it('reads a CommonJS package from default, as node and the CLI bundle both give it, and an ES module as it is', async () => {
    class Upload {}
    expect(commonJsExports({ default: { Upload }, Upload }).Upload).toBe(Upload); // node: named and default
    expect((commonJsExports({ default: { Upload } }) as unknown as { Upload: unknown }).Upload).toBe(Upload); // the bundle: default only
    const esm = await import('./format');
    expect(commonJsExports(esm)).toBe(esm);
    // A real lazily imported CommonJS package, through node's loader here.
    expect(typeof commonJsExports(await import('@aws-sdk/lib-storage')).Upload).toBe('function');
  });
});

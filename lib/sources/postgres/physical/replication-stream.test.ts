// The parts of the replication client that need no server (the stream itself runs against real clusters in
// bin/cli/pitr.test.ts and the console's database e2e tests).
import { describe, expect, it } from 'vitest';
import { maxRateKb } from './replication-stream';

describe('maxRateKb', () => {
  it('reads --max-rate as pg_basebackup does: kB/s, k or M suffix, 32 kB/s to 1 GB/s', () => {
    expect(maxRateKb('800')).toBe(800);
    expect(maxRateKb('500k')).toBe(500);
    expect(maxRateKb('32M')).toBe(32768);
    expect(() => maxRateKb('10')).toThrow('--max-rate must be between 32 kB/s and 1 GB/s (e.g. 32M or 800k), got "10"');
    expect(() => maxRateKb('2G')).toThrow('got "2G"');
  });
});

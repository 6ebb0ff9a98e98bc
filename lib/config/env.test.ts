import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, readEnv } from './env';

const good = {
  DATABASE_URL: 'postgresql://u@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  LIFEBOAT_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('readEnv', () => {
  it('parses and applies defaults', () => {
    const env = readEnv(['DATABASE_URL', 'REDIS_URL', 'LIFEBOAT_SECRET_KEY', 'LIFEBOAT_WORKER_CONCURRENCY'], good);
    expect(env.LIFEBOAT_WORKER_CONCURRENCY).toBe(2);
    expect(env.DATABASE_URL).toBe(good.DATABASE_URL);
  });

  it('names every missing or malformed variable and what it expects', () => {
    try {
      readEnv(['DATABASE_URL', 'REDIS_URL', 'LIFEBOAT_SECRET_KEY', 'LIFEBOAT_WORKER_CONCURRENCY'], {
        REDIS_URL: 'http://nope',
        LIFEBOAT_SECRET_KEY: 'c2hvcnQ=',
        LIFEBOAT_WORKER_CONCURRENCY: 'two',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems;
      expect(problems).toEqual([
        'DATABASE_URL is not set: expected postgresql://user@host:port/database',
        'REDIS_URL is malformed: expected redis://host:port',
        'LIFEBOAT_SECRET_KEY is malformed: expected 32 random bytes, base64 (openssl rand -base64 32)',
        'LIFEBOAT_WORKER_CONCURRENCY is malformed: expected a whole number',
      ]);
    }
  });

  it('treats an empty variable as unset', () => {
    expect(() => readEnv(['DATABASE_URL'], { DATABASE_URL: '' })).toThrow('DATABASE_URL is not set');
  });

  it('stops the worker at startup with one clear line per bad variable', () => {
    const res = spawnSync('node_modules/.bin/tsx', ['worker/main.ts'], {
      env: { NODE_ENV: 'test', PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL: 'redis://127.0.0.1:1', LIFEBOAT_SECRET_KEY: good.LIFEBOAT_SECRET_KEY, DATABASE_URL: 'mysql://x' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(res.status).toBe(2);
    expect(res.stderr.trim()).toBe('Configuration error: DATABASE_URL is malformed: expected postgresql://user@host:port/database');
  });
});

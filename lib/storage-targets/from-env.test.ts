import { describe, expect, it } from 'vitest';
import { s3TargetFromEnv } from './from-env';

describe('s3TargetFromEnv', () => {
  it('is null when no LIFEBOAT_S3_* is set', () => {
    expect(s3TargetFromEnv({ PATH: '/bin' })).toBeNull();
  });

  it('builds a path-style target with defaults', () => {
    const t = s3TargetFromEnv({ LIFEBOAT_S3_ENDPOINT: 'http://127.0.0.1:7480', LIFEBOAT_S3_BUCKET: 'backups', LIFEBOAT_S3_ACCESS_KEY_ID: 'a', LIFEBOAT_S3_SECRET_ACCESS_KEY: 'b' });
    expect(t).toMatchObject({ name: 's3', region: 'us-east-1', bucket: 'backups', forcePathStyle: true, prefix: '' });
  });

  it('names every missing or malformed variable', () => {
    expect(() => s3TargetFromEnv({ LIFEBOAT_S3_ENDPOINT: 'nope', LIFEBOAT_S3_BUCKET: 'UPPER' })).toThrow(
      /LIFEBOAT_S3_ENDPOINT must be an http\(s\) URL.*LIFEBOAT_S3_BUCKET must be 3-63.*LIFEBOAT_S3_ACCESS_KEY_ID is required.*LIFEBOAT_S3_SECRET_ACCESS_KEY is required/,
    );
  });
});

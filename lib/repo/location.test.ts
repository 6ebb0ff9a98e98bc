import { describe, expect, it } from 'vitest';
import { repositoryLocation } from './location';

describe('repositoryLocation', () => {
  it('reads a local path', () => {
    expect(repositoryLocation({}, { LIFEBOAT_REPOSITORY: '/srv/backups' })).toEqual({ kind: 'local', path: '/srv/backups' });
  });

  it('reads s3://bucket/prefix with env credentials', () => {
    const loc = repositoryLocation({}, { LIFEBOAT_REPOSITORY: 's3://bk/a/b', LIFEBOAT_S3_ENDPOINT: 'http://127.0.0.1:7480', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 's' });
    expect(loc).toMatchObject({ kind: 's3', bucket: 'bk', prefix: 'a/b', endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', forcePathStyle: true });
  });

  it('names what is missing', () => {
    expect(() => repositoryLocation({}, {})).toThrow(/LIFEBOAT_REPOSITORY/);
    expect(() => repositoryLocation({}, { LIFEBOAT_REPOSITORY: 's3://b' })).toThrow(/LIFEBOAT_S3_ACCESS_KEY_ID/);
    expect(() => repositoryLocation({}, { LIFEBOAT_REPOSITORY: 's3://b', AWS_ACCESS_KEY_ID: 'a' })).toThrow(/SECRET/);
    expect(() => repositoryLocation({}, { LIFEBOAT_REPOSITORY: 'ftp://x' })).toThrow(/unsupported scheme/);
    expect(() => repositoryLocation({}, { LIFEBOAT_REPOSITORY: 's3://' })).toThrow(/no bucket/);
  });
});

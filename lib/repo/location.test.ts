import { describe, expect, it } from 'vitest';
import { repositoryEnv, repositoryLocation } from './location';

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

describe('repositoryEnv', () => {
  it('gives the environment that repositoryLocation reads back to the same repository', () => {
    const s3 = { kind: 's3' as const, bucket: 'bk', prefix: 'a/b', endpoint: 'http://127.0.0.1:7480', region: 'eu-west-3', accessKeyId: 'AK', secretAccessKey: 'SK', forcePathStyle: false };
    const env = repositoryEnv(s3, {});
    expect(env.LIFEBOAT_S3_CA_FILE).toBeUndefined();
    expect(repositoryLocation({}, env)).toEqual(s3);
    expect(repositoryLocation({}, repositoryEnv({ kind: 's3', bucket: 'top', accessKeyId: 'a', secretAccessKey: 's' }, {}))).toMatchObject({ bucket: 'top', prefix: '', endpoint: undefined, region: 'us-east-1' });
    expect(repositoryLocation({}, repositoryEnv({ kind: 'local', path: '/srv/backups' }, {}))).toEqual({ kind: 'local', path: '/srv/backups' });
  });

  it('passes the CA file on as an absolute path', () => {
    expect(repositoryEnv({ kind: 's3', bucket: 'b', accessKeyId: 'a', secretAccessKey: 's' }, { LIFEBOAT_S3_CA_FILE: 'certs/ca.pem' }).LIFEBOAT_S3_CA_FILE).toMatch(/^\/.*certs\/ca\.pem$/);
  });
});

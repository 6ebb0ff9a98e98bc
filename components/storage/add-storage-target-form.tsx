'use client';
import { useState } from 'react';
import { Field, SelectField } from '../form-field';
import { useApiForm } from '../use-api-form';

export function AddStorageTargetForm() {
  const [kind, setKind] = useState<'s3' | 'local'>('s3');
  const { fields, message, busy, onSubmit, failed } = useApiForm({
    url: '/api/storage-targets',
    invalidate: ['storage-targets'],
    done: (body) => `Added ${body.name}.`,
    toBody: (data) => {
      const form = Object.fromEntries(data) as Record<string, string>;
      return kind === 'local'
        ? { kind, name: form.name, role: form.role, path: form.path }
        : { kind, name: form.name, role: form.role, endpoint: form.endpoint, region: form.region, bucket: form.bucket, prefix: form.prefix, accessKeyId: form.accessKeyId, secretAccessKey: form.secretAccessKey, forcePathStyle: form.forcePathStyle === 'on' };
    },
  });

  return (
    <form className="stack" onSubmit={onSubmit} noValidate data-testid="add-target-form">
      <SelectField label="Kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value as 's3' | 'local')}>
        <option value="s3">S3-compatible storage</option>
        <option value="local">Local directory</option>
      </SelectField>
      <Field label="Name" name="name" error={fields.name} required />
      <SelectField label="Role" name="role" defaultValue="primary">
        <option value="primary">primary</option>
        <option value="replica">replica (second region)</option>
        <option value="archive">archive</option>
      </SelectField>
      {kind === 'local' ? (
        <Field label="Directory (absolute path)" name="path" error={fields.path} placeholder="/srv/backups" />
      ) : (
        <>
          <Field label="Endpoint (empty for AWS)" name="endpoint" error={fields.endpoint} placeholder="http://127.0.0.1:7480" />
          <Field label="Region" name="region" error={fields.region} defaultValue="us-east-1" />
          <Field label="Bucket" name="bucket" error={fields.bucket} />
          <Field label="Prefix" name="prefix" error={fields.prefix} placeholder="lifeboat" />
          <Field label="Access key id" name="accessKeyId" error={fields.accessKeyId} autoComplete="off" />
          <Field label="Secret access key" name="secretAccessKey" type="password" error={fields.secretAccessKey} autoComplete="new-password" />
          <label style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
            <input type="checkbox" name="forcePathStyle" defaultChecked /> Path-style addressing (MinIO, Ceph)
          </label>
        </>
      )}
      {message && <p className={failed ? 'error' : 'muted'} role="status">{message}</p>}
      <button type="submit" disabled={busy}>{busy ? 'Adding…' : 'Add storage target'}</button>
    </form>
  );
}

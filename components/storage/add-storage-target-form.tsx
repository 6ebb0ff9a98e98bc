'use client';
import { useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ApiFailure } from '../api-client';
import { Field, SelectField } from '../form-field';

export function AddStorageTargetForm() {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<'s3' | 'local'>('s3');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const formEl = e.currentTarget;
    const form = Object.fromEntries(new FormData(formEl)) as Record<string, string>;
    const body = kind === 'local'
      ? { kind, name: form.name, role: form.role, path: form.path }
      : { kind, name: form.name, role: form.role, endpoint: form.endpoint, region: form.region, bucket: form.bucket, prefix: form.prefix, accessKeyId: form.accessKeyId, secretAccessKey: form.secretAccessKey, forcePathStyle: form.forcePathStyle === 'on' };
    setBusy(true);
    setFields({});
    setMessage(null);
    try {
      await api('/api/storage-targets', { method: 'POST', body });
      formEl.reset();
      setMessage(`Added ${body.name}.`);
      await queryClient.invalidateQueries({ queryKey: ['storage-targets'] });
    } catch (err) {
      if (err instanceof ApiFailure) {
        setFields(err.fields);
        setMessage(err.message);
      } else setMessage('Could not add the storage target');
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stack" onSubmit={submit} noValidate data-testid="add-target-form">
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
      {message && <p className={Object.keys(fields).length ? 'error' : 'muted'} role="status">{message}</p>}
      <button type="submit" disabled={busy}>{busy ? 'Adding…' : 'Add storage target'}</button>
    </form>
  );
}

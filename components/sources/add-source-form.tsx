'use client';
import { useId } from 'react';
import { useApiForm } from '../use-api-form';
import { Field, SelectField } from '../form-field';
import { globRoot } from '@/lib/sources/filesystem/glob-root';

const lines = (v: FormDataEntryValue | null) => String(v ?? '').split('\n').map((l) => l.trim()).filter(Boolean);

export function AddSourceForm({ targets }: { targets: { id: string; name: string }[] }) {
  const pathsId = useId();
  const excludesId = useId();
  const { fields, message, onSubmit, failed } = useApiForm({
    url: '/api/sources',
    invalidate: ['sources'],
    done: (body) => `Added ${body.name}.`,
    toBody: (f) => {
      const kind = String(f.get('kind'));
      const patterns = lines(f.get('paths'));
      return {
        name: f.get('name'),
        kind,
        environment: f.get('environment'),
        criticality: f.get('criticality'),
        storageTargetId: f.get('storageTargetId'),
        rpoMinutes: Math.round(Number(f.get('rpoHours') || 24) * 60),
        config: kind === 'config' ? { paths: [...new Set(patterns.map(globRoot))], includes: patterns, excludes: lines(f.get('excludes')) } : { paths: patterns, excludes: lines(f.get('excludes')) },
      };
    },
  });

  return (
    <form className="stack" onSubmit={onSubmit} noValidate data-testid="add-source-form">
      <Field label="Name" name="name" error={fields.name} />
      <SelectField label="Kind" name="kind" defaultValue="filesystem">
        <option value="filesystem">File system (directories)</option>
        <option value="config">Configuration files (globs such as /etc/nginx/**)</option>
      </SelectField>
      <div className="field">
        <label htmlFor={pathsId}>Paths or globs (one per line)</label>
        <textarea id={pathsId} name="paths" placeholder="/var/www" />
        {(fields['config.paths'] || fields['config.includes']) && <span className="field-error" data-testid="error-paths">{fields['config.paths'] ?? fields['config.includes']}</span>}
      </div>
      <div className="field">
        <label htmlFor={excludesId}>Exclude (one glob per line)</label>
        <textarea id={excludesId} name="excludes" placeholder="*.tmp" />
      </div>
      <SelectField label="Environment" name="environment" defaultValue="staging">
        <option value="staging">staging</option>
        <option value="production">production (restores need approval)</option>
      </SelectField>
      <SelectField label="Criticality" name="criticality" defaultValue="standard">
        <option value="critical">critical</option>
        <option value="high">high</option>
        <option value="standard">standard</option>
        <option value="low">low</option>
      </SelectField>
      <SelectField label="Storage target" name="storageTargetId">
        {targets.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
      </SelectField>
      <Field label="RPO (hours)" name="rpoHours" type="number" min="0.1" step="0.1" defaultValue="24" error={fields.rpoMinutes} />
      {message && <p className={failed ? 'error' : 'muted'} role="status">{message}</p>}
      <button type="submit">Add source</button>
    </form>
  );
}


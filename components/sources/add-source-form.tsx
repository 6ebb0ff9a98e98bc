'use client';
// Create a source (AddSourceForm) or change one (EditSourceForm): files and config globs, or a database
// server's connection settings. A database password is sent once and stored sealed; the form never shows
// it again: an edit leaves the field empty, which keeps the stored one.
import { useId, useState } from 'react';
import { useApiForm } from '../use-api-form';
import { Field, SelectField } from '../form-field';
import { globRoot } from '@/lib/sources/filesystem/glob-root';
import type { PublicSource } from '@/lib/catalog/sources';

const lines = (v: FormDataEntryValue | null) => String(v ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
const text = (v: FormDataEntryValue | null) => String(v ?? '').trim();
type Kind = 'filesystem' | 'config' | 'postgres' | 'mysql';
type DbConfig = { host?: string; port?: number; user?: string; database?: string; sslmode?: string; socket?: string; backupKind?: string; smokeQueries?: string[]; maintenanceDatabase?: string; archiveBinlogs?: boolean };

function configFrom(kind: Kind, f: FormData) {
  if (kind === 'postgres' || kind === 'mysql') {
    const config: Record<string, unknown> = { user: text(f.get('user')), database: text(f.get('database')), smokeQueries: lines(f.get('smokeQueries')) };
    if (text(f.get('host'))) config.host = text(f.get('host'));
    if (text(f.get('port'))) config.port = Number(text(f.get('port')));
    if (kind === 'postgres') {
      config.backupKind = text(f.get('backupKind')) || 'logical';
      if (text(f.get('sslmode'))) config.sslmode = text(f.get('sslmode'));
      if (text(f.get('maintenanceDatabase'))) config.maintenanceDatabase = text(f.get('maintenanceDatabase'));
    } else {
      if (text(f.get('socket'))) config.socket = text(f.get('socket'));
      config.archiveBinlogs = f.get('archiveBinlogs') === 'on';
    }
    return config;
  }
  const patterns = lines(f.get('paths'));
  return kind === 'config' ? { paths: [...new Set(patterns.map(globRoot))], includes: patterns, excludes: lines(f.get('excludes')) } : { paths: patterns, excludes: lines(f.get('excludes')) };
}

export function AddSourceForm({ targets }: { targets: { id: string; name: string }[] }) {
  return <SourceForm targets={targets} />;
}

export function EditSourceForm({ targets, source }: { targets: { id: string; name: string }[]; source: PublicSource }) {
  return <SourceForm targets={targets} existing={source} />;
}

function SourceForm({ targets, existing }: { targets: { id: string; name: string }[]; existing?: PublicSource }) {
  const [kind, setKind] = useState<Kind>((existing?.kind as Kind) ?? 'filesystem');
  const database = kind === 'postgres' || kind === 'mysql';
  const { fields, message, onSubmit, failed } = useApiForm({
    url: existing ? `/api/sources/${existing.id}` : '/api/sources',
    method: existing ? 'PATCH' : 'POST',
    keepValues: !!existing,
    invalidate: ['sources'],
    done: (body) => (existing ? `Saved ${body.name}.` : `Added ${body.name}.`),
    toBody: (f) => {
      const password = String(f.get('password') ?? '');
      return {
        name: f.get('name'),
        kind,
        environment: f.get('environment'),
        criticality: f.get('criticality'),
        storageTargetId: f.get('storageTargetId'),
        rpoMinutes: Math.round(Number(f.get('rpoHours') || 24) * 60),
        config: configFrom(kind, f),
        ...(database && password ? { password } : {}),
        ...(database && f.get('clearPassword') ? { clearPassword: true } : {}),
      };
    },
  });
  const c = (existing?.config ?? {}) as DbConfig & { paths?: string[]; excludes?: string[]; includes?: string[] };

  return (
    <form className="stack" onSubmit={onSubmit} noValidate data-testid={existing ? 'edit-source-form' : 'add-source-form'}>
      <Field label="Name" name="name" error={fields.name} defaultValue={existing?.name} />
      <SelectField label="Kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value as Kind)} disabled={!!existing}>
        <option value="filesystem">File system (directories)</option>
        <option value="config">Configuration files (globs such as /etc/nginx/**)</option>
        <option value="postgres">PostgreSQL database</option>
        <option value="mysql">MySQL / MariaDB database</option>
      </SelectField>
      {database ? <DatabaseFields kind={kind} fields={fields} c={c} hasPassword={existing?.hasPassword ?? false} editing={!!existing} /> : <PathFields fields={fields} c={c} />}
      <SelectField label="Environment" name="environment" defaultValue={existing?.environment ?? 'staging'}>
        <option value="staging">staging</option>
        <option value="production">production (restores need approval)</option>
      </SelectField>
      <SelectField label="Criticality" name="criticality" defaultValue={existing?.criticality ?? 'standard'}>
        <option value="critical">critical</option>
        <option value="high">high</option>
        <option value="standard">standard</option>
        <option value="low">low</option>
      </SelectField>
      <SelectField label="Storage target" name="storageTargetId" defaultValue={existing?.storageTargetId ?? undefined}>
        {targets.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
      </SelectField>
      <Field label="RPO (hours)" name="rpoHours" type="number" min="0.1" step="0.1" defaultValue={existing ? String(existing.rpoMinutes / 60) : '24'} error={fields.rpoMinutes} />
      {message && <p className={failed ? 'error' : 'muted'} role="status">{message}</p>}
      <button type="submit">{existing ? 'Save source' : 'Add source'}</button>
    </form>
  );
}

function PathFields({ fields, c }: { fields: Record<string, string>; c: { paths?: string[]; excludes?: string[]; includes?: string[] } }) {
  const pathsId = useId();
  const excludesId = useId();
  return (
    <>
      <div className="field">
        <label htmlFor={pathsId}>Paths or globs (one per line)</label>
        <textarea id={pathsId} name="paths" placeholder="/var/www" defaultValue={(c.includes?.length ? c.includes : c.paths ?? []).join('\n')} />
        {(fields['config.paths'] || fields['config.includes']) && <span className="field-error" data-testid="error-paths">{fields['config.paths'] ?? fields['config.includes']}</span>}
      </div>
      <div className="field">
        <label htmlFor={excludesId}>Exclude (one glob per line)</label>
        <textarea id={excludesId} name="excludes" placeholder="*.tmp" defaultValue={(c.excludes ?? []).join('\n')} />
      </div>
    </>
  );
}

function DatabaseFields({ kind, fields, c, hasPassword, editing }: { kind: Kind; fields: Record<string, string>; c: DbConfig; hasPassword: boolean; editing: boolean }) {
  const smokeId = useId();
  const pg = kind === 'postgres';
  return (
    <>
      <Field label="Host" name="host" placeholder={pg ? '127.0.0.1 or /var/run/postgresql' : '127.0.0.1'} defaultValue={c.host} error={fields['config.host']} />
      <Field label="Port" name="port" type="number" placeholder={pg ? '5432' : '3306'} defaultValue={c.port === undefined ? undefined : String(c.port)} error={fields['config.port']} />
      {!pg && <Field label="Socket (instead of host and port)" name="socket" placeholder="/run/mysqld/mysqld.sock" defaultValue={c.socket} error={fields['config.socket']} />}
      <Field label="User" name="user" defaultValue={c.user} error={fields['config.user']} autoComplete="off" />
      <Field label="Database (a name, or all)" name="database" defaultValue={c.database} error={fields['config.database']} />
      <Field
        label="Password"
        name="password"
        type="password"
        autoComplete="new-password"
        placeholder={hasPassword ? 'stored (encrypted): leave empty to keep it' : 'none stored'}
        error={fields.password ?? fields['config.password']}
      />
      {editing && hasPassword && (
        <label className="muted"><input type="checkbox" name="clearPassword" /> forget the stored password</label>
      )}
      {pg && (
        <>
          <SelectField label="SSL mode" name="sslmode" defaultValue={c.sslmode ?? ''}>
            <option value="">libpq default</option>
            {['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'].map((m) => <option key={m} value={m}>{m}</option>)}
          </SelectField>
          <Field label="Maintenance database" name="maintenanceDatabase" placeholder="postgres" defaultValue={c.maintenanceDatabase} error={fields['config.maintenanceDatabase']} />
          <SelectField label="Backup kind" name="backupKind" defaultValue={c.backupKind ?? 'logical'}>
            <option value="logical">logical (pg_dump; restorable into a database)</option>
            <option value="physical">physical (base backup; point-in-time recovery with WAL archiving)</option>
          </SelectField>
        </>
      )}
      {!pg && (
        <label>
          <input type="checkbox" name="archiveBinlogs" defaultChecked={c.archiveBinlogs ?? false} /> Archive the binary logs after each dump and every few minutes (point-in-time restores; the server needs log_bin)
        </label>
      )}
      <div className="field">
        <label htmlFor={smokeId}>Smoke queries (one per line; each must return rows after a restore)</label>
        <textarea id={smokeId} name="smokeQueries" placeholder="SELECT 1 FROM orders LIMIT 1" defaultValue={(c.smokeQueries ?? []).join('\n')} />
        {fields['config.smokeQueries'] && <span className="field-error">{fields['config.smokeQueries']}</span>}
      </div>
    </>
  );
}

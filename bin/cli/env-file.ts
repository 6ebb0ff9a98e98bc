// --env-file FILE: settings for commands that PostgreSQL runs (archive_command, restore_command), whose
// environment is the server's. Lines are KEY=VALUE (VALUE raw, or a JSON string in double quotes), blank
// lines and # comments are skipped. The file's values win over the inherited environment: it was named
// explicitly. Keep it mode 0600: it may hold LIFEBOAT_PASSWORD or S3 keys.
import { readFileSync } from 'node:fs';
import { UsageError } from './errors';

export function parseEnvFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new UsageError(`${file} line ${i + 1}: expected KEY=VALUE`);
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        throw new UsageError(`${file} line ${i + 1}: a value starting with " must be a complete JSON string`);
      }
    }
    out[m[1]!] = value;
  }
  return out;
}

export function loadEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): void {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the environment file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  Object.assign(env, parseEnvFile(text, file));
}

// Where the console may ask the worker to restore files. The worker often runs as root, so a restore
// target is a privilege: only directories under LIFEBOAT_RESTORE_ROOTS (comma-separated absolute paths;
// default <LIFEBOAT_DATA_DIR>/restores) are accepted, checked after normalising the path.
import { resolve, sep } from 'node:path';

export function restoreRoots(env: Record<string, string | undefined> = process.env): string[] {
  const raw = env.LIFEBOAT_RESTORE_ROOTS;
  if (raw) return raw.split(',').map((p) => resolve(p.trim())).filter(Boolean);
  return [resolve(env.LIFEBOAT_DATA_DIR || './.lifeboat', 'restores')];
}

/** null when allowed, otherwise a message for the user. */
export function restoreTargetProblem(target: string, roots = restoreRoots()): string | null {
  if (!target.startsWith('/')) return 'must be an absolute directory path';
  const path = resolve(target);
  if (roots.some((root) => path === root || path.startsWith(root + sep))) return null;
  return `must be inside one of the allowed restore directories: ${roots.join(', ')} (set LIFEBOAT_RESTORE_ROOTS to change them)`;
}

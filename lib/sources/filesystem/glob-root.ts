// The directory a glob starts from: /etc/nginx/** -> /etc/nginx, /etc/*.conf -> /etc, /etc/hosts -> /etc/hosts.
// Dependency-free so the console's forms can use it too.
export function globRoot(pattern: string): string {
  const parts = pattern.split('/');
  const i = parts.findIndex((p) => /[*?[\]{}!]/.test(p));
  if (i === -1) return pattern;
  return parts.slice(0, i).join('/') || '/';
}

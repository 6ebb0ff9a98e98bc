// Which database of a multi-database restore point a restore means: the named one, or the only one. Shared
// by the PostgreSQL and MySQL engines and the CLI (which checks before touching any server).

/** The chosen entry, or the reason none can be chosen ("... holds no database "x"; it holds: a, b"). */
export function chooseDatabase<T extends { name: string }>(databases: readonly T[], wanted: string | undefined, what: string): T | string {
  const names = databases.map((d) => d.name).join(', ') || 'none';
  if (wanted !== undefined) return databases.find((d) => d.name === wanted) ?? `${what} holds no database ${JSON.stringify(wanted)}; it holds: ${names}`;
  if (databases.length === 1) return databases[0]!;
  return `${what} holds ${databases.length} databases (${names}): choose one`;
}

// Results go to stdout: JSON with --json (one document), otherwise short human lines.
export function emit(json: boolean | undefined, value: unknown, human: () => string | string[]): void {
  if (json) {
    process.stdout.write(JSON.stringify(value, null, 2) + '\n');
    return;
  }
  const text = human();
  process.stdout.write((Array.isArray(text) ? text.join('\n') : text) + '\n');
}

export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
}
